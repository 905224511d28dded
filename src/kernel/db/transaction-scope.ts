import { AsyncLocalStorage } from 'node:async_hooks';
import { CompiledQuery, createQueryId, isOperationNodeSource, sql, type Compilable, type Kysely, type RootOperationNode, type Transaction, type WithNode } from 'kysely';
import { deferredInsertQuery, quoted, shiftedPlaceholders } from './deferred-insert-sql.js';
import { mayBeWholeTransaction } from './lazy-begin.js';

interface Scope {
  trx: Transaction<any>;
  afterCommit: Array<() => void>;
  /** Rows to insert just before commit, one multi-row statement per table. */
  deferred: Map<string, Array<Record<string, unknown>>>;
  /** Savepoints named so far, and those open now. */
  depth: number;
  open: number;
  /** `lastWrite` ran: nothing may be deferred after it. */
  closed: boolean;
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
  const scope: Omit<Scope, 'trx'> = { afterCommit: [], deferred: new Map(), depth: 0, open: 0, closed: false };
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
  outer.open++;
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
  } finally {
    outer.open--;
  }
}

async function flushDeferred(scope: Scope): Promise<void> {
  const batches = deferredBatches(scope);
  for (const batch of batches) await scope.trx.executeQuery(combined(batch));
}

/**
 * The deferred inserts as few statements as possible, emptying the queue. Inserts into different
 * tables share one statement (a round trip each costs more than the insert): the others ride
 * along as data-modifying WITH clauses of the last. Two inserts into one table never share a
 * statement, whose parts run in no set order: rows keep their order.
 */
function deferredBatches(scope: Scope, reserved = 0): CompiledQuery[][] {
  const inserts: Array<{ table: string; query: CompiledQuery }> = [];
  for (const [table, rows] of scope.deferred) {
    for (let i = 0; i < rows.length; i += CHUNK) inserts.push({ table, query: deferredInsertQuery(scope.trx, table, rows.slice(i, i + CHUNK)) });
  }
  scope.deferred.clear();
  const batches: CompiledQuery[][] = [];
  let batch: typeof inserts = [];
  let parameters = reserved;
  for (const insert of inserts) {
    if (batch.length > 0 && (batch.some((b) => b.table === insert.table) || parameters + insert.query.parameters.length > MAX_PARAMETERS)) {
      batches.push(batch.map((b) => b.query));
      batch = [];
      parameters = reserved;
    }
    batch.push(insert);
    parameters += insert.query.parameters.length;
  }
  if (batch.length > 0) batches.push(batch.map((b) => b.query));
  return batches;
}

/** A data-modifying `WITH` clause of the last write's own (`with name as (query) main`). */
export interface OwnWith {
  name: string;
  columns?: readonly string[];
  query: CompiledQuery;
}

/**
 * Runs `main` (an insert, update or delete with `returning`) as the transaction's last statement,
 * with the inserts deferred so far (events, audit entries, `insertLater` rows) in the same
 * statement. When `main` returns no row the statement fails as a whole, so none of them is
 * written, and `whenNoRow()` is thrown. When nothing else ran in the transaction, this statement
 * is the transaction: no BEGIN or COMMIT round trip. Nothing may be written after it.
 *
 * `own` are `main`'s own WITH clauses (updates of other rows the unit of work needs, which `main`
 * may read from): PostgreSQL takes data-modifying WITH clauses only at the top of a statement, so
 * they go there, before `main`, and fail with it.
 */
export async function lastWrite<R>(trx: Kysely<any>, main: CompiledQuery, whenNoRow: () => Error, own: readonly OwnWith[] = []): Promise<R[]> {
  const scope = scopes.getStore();
  if (!scope || scope.trx !== trx || scope.open > 0) {
    // Inside a savepoint the outer transaction goes on after us: an ordinary statement.
    const rows = (await trx.executeQuery(withOwn(main, own))).rows as R[];
    if (rows.length === 0) throw whenNoRow();
    return rows;
  }
  const reserved = own.reduce((n, w) => n + w.query.parameters.length, main.parameters.length);
  const batches = deferredBatches(scope, reserved);
  const last = batches.pop() ?? [];
  for (const batch of batches) await scope.trx.executeQuery(combined(batch));
  scope.closed = true;
  try {
    return (await scope.trx.executeQuery(mayBeWholeTransaction(withRowExpected(main, last, own)))).rows as R[];
  } catch (err) {
    if ((err as { code?: string }).code === NO_ROW) throw whenNoRow();
    throw err;
  }
}

/**
 * A query's own WITH clauses, split off its body for `lastWrite` (which puts them at the top of
 * its one statement): `db.with('d', (db) => db.updateTable(…)…).updateTable(…)` becomes the body
 * `update …` and the clause `d`. A builder is transformed (the schema plugin) once and only its
 * parts are compiled: compiling it whole first, only to compile its parts again, was a sixth of
 * what a counter payment cost the server thread in Kysely.
 */
export function ownWith(trx: Kysely<any>, query: CompiledQuery | Compilable): { main: CompiledQuery; own: OwnWith[] } {
  const executor = trx.getExecutor();
  const source = isOperationNodeSource(query) ? query : undefined;
  const compiled = source ? undefined : 'sql' in query ? query : query.compile();
  const node = (compiled ? compiled.query : source!.toOperationNode()) as RootOperationNode & { with?: WithNode };
  if (!node.with) return { main: compiled ?? executor.compileQuery(node, createQueryId()), own: [] };
  if (node.with.recursive) throw new Error('a last write with a recursive WITH');
  const own = node.with.expressions.map((cte) => {
    if (cte.materialized !== undefined) throw new Error('a last write with a MATERIALIZED hint in its WITH');
    const columns = cte.name.columns?.map((c) => c.column.name);
    return { name: cte.name.table.table.identifier.name, ...(columns ? { columns } : {}), query: executor.compileQuery(cte.expression as RootOperationNode, createQueryId()) };
  });
  return { main: executor.compileQuery({ ...node, with: undefined } as RootOperationNode, compiled?.queryId ?? createQueryId()), own };
}

/** Raised by `kernel.expect_rows` (migration `db_001_expect_rows`). */
const NO_ROW = 'SV001';

/**
 * `with [own…,] seva_main as (main), seva_w0 as (insert …) select seva_main.* from (check) left
 * join seva_main`: the check counts main's rows and raises when there are none; the left join
 * keeps its one row, so it is evaluated whatever plan the database picks.
 */
function withRowExpected(main: CompiledQuery, inserts: CompiledQuery[], own: readonly OwnWith[] = []): CompiledQuery {
  const queries = [...own.map((w) => w.query), main, ...inserts];
  const text = remembered(`${own.map(head).join(',')}\u0000${queries.map((q) => q.sql).join('\u0000')}`, () => {
    const parts = renumbered(queries);
    const ctes = [
      ...own.map((w, i) => `${head(w)} as (${parts[i]})`),
      `seva_main as (${parts[own.length]})`,
      ...parts.slice(own.length + 1).map((t, i) => `seva_w${i} as (${t})`),
    ];
    return `with ${ctes.join(', ')} select seva_main.* from (select kernel.expect_rows(count(*)) from seva_main) seva_check left join seva_main on true`;
  });
  return CompiledQuery.raw(text, queries.flatMap((q) => [...q.parameters]));
}

/**
 * Combined texts by the texts they combine: a unit of work writes the same few shapes again and
 * again, and renumbering placeholders (a regular expression over kilobytes of SQL) is then done
 * once per shape instead of once per call. Bounded, as shapes with a varying row count exist.
 */
const combinedTexts = new Map<string, string>();
const COMBINED_TEXTS_KEPT = 500;

function remembered(key: string, make: () => string): string {
  let text = combinedTexts.get(key);
  if (text === undefined) {
    if (combinedTexts.size >= COMBINED_TEXTS_KEPT) combinedTexts.clear();
    combinedTexts.set(key, (text = make()));
  }
  return text;
}

/** `main` with its own WITH clauses put back: `with a as (…), b as (…) main`. */
function withOwn(main: CompiledQuery, own: readonly OwnWith[]): CompiledQuery {
  if (own.length === 0) return main;
  const queries = [...own.map((w) => w.query), main];
  const parts = renumbered(queries);
  const text = `with ${own.map((w, i) => `${head(w)} as (${parts[i]})`).join(', ')} ${parts[own.length]}`;
  return CompiledQuery.raw(text, queries.flatMap((q) => [...q.parameters]));
}

const head = (w: OwnWith) => quoted(w.name) + (w.columns?.length ? `(${w.columns.map(quoted).join(', ')})` : '');

/** Each query's text with its $n placeholders shifted past those of the queries before it. */
function renumbered(queries: CompiledQuery[]): string[] {
  let offset = 0;
  return queries.map((q) => {
    const shift = offset;
    offset += q.parameters.length;
    // Our table and column names hold no "$".
    return shiftedPlaceholders(q.sql, shift);
  });
}

/** Inserts as one statement: `with w0 as (insert …), w1 as (insert …) insert …`. */
function combined(inserts: CompiledQuery[]): CompiledQuery {
  if (inserts.length === 1) return inserts[0]!;
  const text = remembered(`\u0001${inserts.map((q) => q.sql).join('\u0000')}`, () => {
    const texts = renumbered(inserts);
    const last = texts.pop()!;
    return `with ${texts.map((t, i) => `seva_w${i} as (${t})`).join(', ')} ${last}`;
  });
  return CompiledQuery.raw(text, inserts.flatMap((q) => [...q.parameters]));
}

/**
 * Queues a row to be inserted when `trx` commits, batched with others of its table; returns
 * false when `trx` is not the transaction in scope (the caller then inserts it itself).
 */
export function deferInsert(trx: Kysely<any>, table: string, row: Record<string, unknown>): boolean {
  const scope = scopes.getStore();
  if (!scope || scope.trx !== trx) return false;
  if (scope.closed) throw new Error(`an insert into ${table} after the transaction's last write`);
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
