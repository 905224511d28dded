import { CompiledQuery, type Kysely, type RawBuilder } from 'kysely';

/**
 * The multi-row insert of a table's deferred rows, as Kysely writes it (`insert into "s"."t"
 * ("a", "b") values ($1, $2), ($3, default)`), without building and compiling its operation tree:
 * every audited unit of work inserts its event and audit rows this way, and the tree cost about as
 * much as the rest of the statement's preparation. A `sql` value (workflow's next history number,
 * a subquery) is compiled alone and written in place with its placeholders moved on; rows holding
 * any other expression (a builder, a callback, `sql` with a quoted literal) go through Kysely.
 */
export function deferredInsertQuery(trx: Kysely<any>, table: string, rows: ReadonlyArray<Record<string, unknown>>): CompiledQuery {
  const raws = new Map<unknown, CompiledQuery>();
  if (rows.some((row) => holdsExpression(trx, row, raws))) return trx.insertInto(table).values(rows as Array<Record<string, unknown>>).compile();
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
      const raw = raws.get(value);
      if (raw) {
        const shift = parameters.length;
        parameters.push(...raw.parameters);
        // Texts with a quoted literal went to Kysely.
        return shiftedPlaceholders(raw.sql, shift);
      }
      parameters.push(value);
      return `$${parameters.length}`;
    });
    return `(${slots.join(', ')})`;
  });
  const text = `insert into ${qualified(table)} (${columns.map(quoted).join(', ')}) values ${tuples.join(', ')}`;
  return CompiledQuery.raw(text, parameters);
}

/** Whether `row` holds an expression this file does not write itself; `sql` values it can write are compiled into `raws`. */
function holdsExpression(trx: Kysely<any>, row: Record<string, unknown>, raws: Map<unknown, CompiledQuery>): boolean {
  for (const key in row) {
    const value = row[key];
    if (typeof value === 'function') return true;
    if (typeof value === 'object' && value !== null && typeof (value as { toOperationNode?: unknown }).toOperationNode === 'function') {
      if ((value as { isRawBuilder?: unknown }).isRawBuilder !== true) return true;
      if (!raws.has(value)) {
        const compiled = (value as RawBuilder<unknown>).compile(trx);
        if (compiled.sql.includes("'")) return true;
        raws.set(value, compiled);
      }
    }
  }
  return false;
}

/** `text` with its $n placeholders moved on by `shift`: Kysely writes values only as $n placeholders. */
export function shiftedPlaceholders(text: string, shift: number): string {
  return shift === 0 ? text : text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + shift}`);
}

/** A name as a quoted SQL identifier. */
export const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;
const qualified = (table: string) => table.split('.').map(quoted).join('.');
