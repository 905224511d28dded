import { AsyncLocalStorage } from 'node:async_hooks';
import { sql, type Kysely, type Transaction } from 'kysely';

interface Scope {
  trx: Transaction<any>;
  afterCommit: Array<() => void>;
  depth: number;
}

const scopes = new AsyncLocalStorage<Scope>();

/**
 * One transaction per unit of work, however deep the calls go: a nested `inTransaction` (an
 * operation calling another module's operation in process, a consumer's handler) joins the
 * outer transaction behind a savepoint. This keeps a consumer's writes atomic with its
 * processed-event mark, and it is also what PGlite's single connection requires.
 */
export async function inTransaction<T>(db: Kysely<any>, body: (trx: Transaction<any>) => Promise<T>): Promise<T> {
  const outer = scopes.getStore();
  if (outer) {
    const name = sql.id(`seva_sp_${++outer.depth}`);
    await sql`savepoint ${name}`.execute(outer.trx);
    try {
      const result = await body(outer.trx);
      await sql`release savepoint ${name}`.execute(outer.trx);
      return result;
    } catch (err) {
      await sql`rollback to savepoint ${name}`.execute(outer.trx);
      throw err;
    }
  }
  const afterCommit: Array<() => void> = [];
  const result = await db.transaction().execute((trx) => scopes.run({ trx, afterCommit, depth: 0 }, () => body(trx)));
  for (const hook of afterCommit) hook();
  return result;
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
