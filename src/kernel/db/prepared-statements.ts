import type pg from 'pg';

/** A text becomes a prepared statement from this use on: one-off texts stay unnamed. */
const PREPARE_FROM_USE = 3;
/** Prepared statements per connection, so that a backend's memory stays bounded. */
const PER_CONNECTION = 500;
/** Texts counted per process before the counts start over. */
const COUNTED = 5_000;

/**
 * Statements run again and again (an operation's few shapes) become named prepared statements on
 * each connection of `pool`: PostgreSQL then parses and plans them once per connection instead of
 * on every call, which was ~40 % of its CPU per workflow transition. Only texts with parameters
 * are prepared (scripts cannot be), from their third use on.
 */
export function prepareRepeatedStatements(pool: pg.Pool): void {
  const uses = new Map<string, { n: number; name: string }>();
  let names = 0;
  pool.on('connect', (client) => {
    const prepared = new Set<string>();
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (text: unknown, values?: unknown, ...rest: unknown[]) => {
      if (typeof text !== 'string' || !Array.isArray(values) || values.length === 0 || rest.length > 0) return query(text, values, ...rest);
      let seen = uses.get(text);
      if (!seen) {
        if (uses.size >= COUNTED) uses.clear();
        uses.set(text, (seen = { n: 0, name: `seva_${(++names).toString(36)}` }));
      }
      seen.n++;
      if (prepared.has(seen.name) || (seen.n >= PREPARE_FROM_USE && prepared.size < PER_CONNECTION)) {
        prepared.add(seen.name);
        return query({ name: seen.name, text, values });
      }
      return query(text, values);
    };
  });
}
