import { CompiledQuery, type Kysely } from 'kysely';

/**
 * The multi-row insert of a table's deferred rows, as Kysely writes it (`insert into "s"."t"
 * ("a", "b") values ($1, $2), ($3, default)`), without building and compiling its operation tree:
 * every audited unit of work inserts its event and audit rows this way, and the tree cost about as
 * much as the rest of the statement's preparation. Rows holding an expression (a subquery, `sql`)
 * go through Kysely as before.
 */
export function deferredInsertQuery(trx: Kysely<any>, table: string, rows: ReadonlyArray<Record<string, unknown>>): CompiledQuery {
  if (rows.some(holdsExpression)) return trx.insertInto(table).values(rows as Array<Record<string, unknown>>).compile();
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    for (const key in row) {
      if (row[key] !== undefined && !seen.has(key)) {
        seen.add(key);
        columns.push(key);
      }
    }
  }
  const parameters: unknown[] = [];
  const tuples = rows.map((row) => {
    const slots = columns.map((column) => {
      const value = row[column];
      if (value === undefined) return 'default';
      parameters.push(value);
      return `$${parameters.length}`;
    });
    return `(${slots.join(', ')})`;
  });
  const text = `insert into ${qualified(table)} (${columns.map(quoted).join(', ')}) values ${tuples.join(', ')}`;
  return CompiledQuery.raw(text, parameters);
}

function holdsExpression(row: Record<string, unknown>): boolean {
  for (const key in row) {
    const value = row[key];
    if (typeof value === 'function') return true;
    if (typeof value === 'object' && value !== null && typeof (value as { toOperationNode?: unknown }).toOperationNode === 'function') return true;
  }
  return false;
}

/** A name as a quoted SQL identifier. */
export const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;
const qualified = (table: string) => table.split('.').map(quoted).join('.');
