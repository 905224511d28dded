import { AsyncLocalStorage } from 'node:async_hooks';
import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';

interface Scope {
  trx: Transaction<any>;
  afterCommit: Array<() => void>;
  /** Rows to insert just before commit, one multi-row statement per table. */
  deferred: Map<string, Array<Record<string, unknown>>>;
  depth: number;
}

const scopes = new AsyncLocalStorage<Scope>();
const CHUNK = 1000;
/** PostgreSQL takes at most 65,535 parameters per statement. */
const MAX_PARAMETERS = 30_000;

/**
 * One transaction per unit of work, however deep the calls go: a nested `inTransaction` (an
 * operation calling another module's operation in process, a consumer's handler) joins the
 * outer transaction behind a savepoint. This keeps a consumer's writes atomic with its
 * processed-event mark, and it is also what PGlite's single connection requires.
 */
export async function inTransaction<T>(db: Kysely<any>, body: (trx: Transaction<any>) => Promise<T>): Promise<T> {
  const outer = scopes.getStore();
  if (outer) return inSavepoint(outer, body);
  const scope: Omit<Scope, 'trx'> = { afterCommit: [], deferred: new Map(), depth: 0 };
  const result = await db.transaction().execute((trx) =>
    scopes.run({ ...scope, trx } as Scope, async () => {
      const value = await body(trx);
      await flushDeferred(scopes.getStore()!);
      return value;
    }),
  );
  for (const hook of scope.afterCommit) hook();
  return result;
}

async function inSavepoint<T>(outer: Scope, body: (trx: Transaction<any>) => Promise<T>): Promise<T> {
  const name = sql.id(`seva_sp_${++outer.depth}`);
  const marks = new Map([...outer.deferred].map(([table, rows]) => [table, rows.length]));
  const hooks = outer.afterCommit.length;
  await sql`savepoint ${name}`.execute(outer.trx);
  try {
    const result = await body(outer.trx);
    await sql`release savepoint ${name}`.execute(outer.trx);
    return result;
  } catch (err) {
    await sql`rollback to savepoint ${name}`.execute(outer.trx);
    // What the rolled-back part deferred is rolled back with it.
    for (const [table, rows] of outer.deferred) rows.length = marks.get(table) ?? 0;
    outer.afterCommit.length = hooks;
    throw err;
  }
}

async function flushDeferred(scope: Scope): Promise<void> {
  const inserts: Array<{ table: string; query: CompiledQuery }> = [];
  for (const [table, rows] of scope.deferred) {
    for (let i = 0; i < rows.length; i += CHUNK) inserts.push({ table, query: scope.trx.insertInto(table).values(rows.slice(i, i + CHUNK)).compile() });
  }
  scope.deferred.clear();
  // One statement for the inserts of different tables (a round trip each costs more than the
  // insert): the others ride along as data-modifying WITH clauses of the last. Two inserts into
  // one table never share a statement, whose parts run in no set order: rows keep their order.
  let batch: typeof inserts = [];
  let parameters = 0;
  for (const insert of inserts) {
    if (batch.length > 0 && (batch.some((b) => b.table === insert.table) || parameters + insert.query.parameters.length > MAX_PARAMETERS)) {
      await scope.trx.executeQuery(combined(batch.map((b) => b.query)));
      batch = [];
      parameters = 0;
    }
    batch.push(insert);
    parameters += insert.query.parameters.length;
  }
  if (batch.length > 0) await scope.trx.executeQuery(combined(batch.map((b) => b.query)));
}

/** Inserts as one statement: `with w0 as (insert …), w1 as (insert …) insert …`, placeholders renumbered. */
function combined(inserts: CompiledQuery[]): CompiledQuery {
  if (inserts.length === 1) return inserts[0]!;
  let offset = 0;
  const texts = inserts.map((q) => {
    const shift = offset;
    offset += q.parameters.length;
    // Kysely writes values only as $n placeholders, and our table and column names hold no "$".
    return q.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + shift}`);
  });
  const last = texts.pop()!;
  const text = `with ${texts.map((t, i) => `seva_w${i} as (${t})`).join(', ')} ${last}`;
  return CompiledQuery.raw(text, inserts.flatMap((q) => [...q.parameters]));
}

/**
 * Queues a row to be inserted when `trx` commits, batched with others of its table; returns
 * false when `trx` is not the transaction in scope (the caller then inserts it itself).
 */
export function deferInsert(trx: Kysely<any>, table: string, row: Record<string, unknown>): boolean {
  const scope = scopes.getStore();
  if (!scope || scope.trx !== trx) return false;
  let rows = scope.deferred.get(table);
  if (!rows) scope.deferred.set(table, (rows = []));
  rows.push(row);
  return true;
}

/** The transaction in progress, if any; queries outside one use the pool. */
export function currentTransaction(): Transaction<any> | undefined {
  return scopes.getStore()?.trx;
}

/** Runs `hook` once the outermost transaction commits (at once when none is open). */
export function afterCommit(hook: () => void): void {
  const scope = scopes.getStore();
  if (scope) scope.afterCommit.push(hook);
  else hook();
}
