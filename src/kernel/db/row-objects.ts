import type pg from 'pg';

/** Row builders by their columns' names; a process runs a bounded set of statement shapes. */
const builders = new Map<string, (values: unknown[]) => Record<string, unknown>>();
const BUILDERS_KEPT = 2_000;

/**
 * Rows as plain objects of one shape per statement. node-postgres builds each row by spreading a
 * prototype-less template, which gives V8 objects in dictionary mode: slow to make, slow to read
 * (a fifth of a workflow transition's database-client time). Here statements with parameters are
 * asked for rows as arrays, and each array becomes an object literal compiled once per column
 * list, so every row of a shape shares one hidden class. Columns named twice keep the last value,
 * as node-postgres does.
 */
export function plainRowObjects(pool: pg.Pool): void {
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<pg.QueryResult<any>> | unknown;
    (client as { query: unknown }).query = (first: unknown, values?: unknown, ...rest: unknown[]) => {
      const config = asConfig(first, values, rest);
      if (!config) return query(first, values, ...rest);
      return (query({ ...config, rowMode: 'array' }) as Promise<pg.QueryResult<any>>).then(withObjects);
    };
  });
}

/** Only single statements with parameters, asked for a promise: those are the ones that repeat. */
function asConfig(first: unknown, values: unknown, rest: unknown[]): pg.QueryConfig | undefined {
  if (rest.length > 0) return undefined;
  if (typeof first === 'string') return Array.isArray(values) && values.length > 0 ? { text: first, values } : undefined;
  if (values !== undefined || typeof first !== 'object' || first === null) return undefined;
  const config = first as pg.QueryConfig & { rowMode?: string; submit?: unknown };
  if (config.rowMode !== undefined || typeof config.submit === 'function' || !Array.isArray(config.values) || config.values.length === 0) return undefined;
  return config;
}

function withObjects(result: pg.QueryResult<any>): pg.QueryResult<any> {
  if (result.rows.length > 0) {
    const build = builderFor(result.fields);
    const rows = result.rows as unknown as unknown[][];
    for (let i = 0; i < rows.length; i++) (rows as unknown[])[i] = build(rows[i]!);
  }
  return result;
}

function builderFor(fields: readonly pg.FieldDef[]): (values: unknown[]) => Record<string, unknown> {
  const key = fields.map((f) => f.name).join('\u0000');
  let build = builders.get(key);
  if (!build) {
    if (builders.size >= BUILDERS_KEPT) builders.clear();
    // Names are written as JSON string literals: any name a database returns is a valid key. A
    // column named __proto__ is a computed key, which defines a property instead of a prototype.
    const entry = (name: string, i: number) => (name === '__proto__' ? `[${JSON.stringify(name)}]` : JSON.stringify(name)) + `: v[${i}]`;
    const body = `return { ${fields.map((f, i) => entry(f.name, i)).join(', ')} };`;
    build = new Function('v', body) as (values: unknown[]) => Record<string, unknown>;
    builders.set(key, build);
  }
  return build;
}
