import { CompiledQuery, PostgresDialect, type DatabaseConnection, type Driver, type QueryResult, type TransactionSettings } from 'kysely';

/**
 * Statements allowed to be a whole transaction by themselves: when one is the first statement of
 * a transaction, it runs without BEGIN and COMMIT (a single statement is atomic on its own).
 */
const wholeTransactions = new WeakSet<CompiledQuery>();

export function mayBeWholeTransaction(query: CompiledQuery): CompiledQuery {
  wholeTransactions.add(query);
  return query;
}

/**
 * PostgreSQL through Kysely, with BEGIN sent only when the transaction's first statement is: a
 * round trip costs more than most of our statements, and a unit of work that ends up as one
 * statement (see `lastWrite`) then needs neither BEGIN nor COMMIT. Nothing else changes: under
 * READ COMMITTED a transaction takes no snapshot before its first statement.
 */
export class LazyBeginDialect extends PostgresDialect {
  override createDriver(): Driver {
    return new LazyBeginDriver(super.createDriver());
  }
}

class LazyBeginDriver implements Driver {
  private readonly wrapped = new WeakMap<DatabaseConnection, LazyBeginConnection>();

  constructor(private readonly inner: Driver) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.inner.acquireConnection();
    let lazy = this.wrapped.get(connection);
    if (!lazy) this.wrapped.set(connection, (lazy = new LazyBeginConnection(connection)));
    return lazy;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let text = 'begin';
    if (settings.isolationLevel || settings.accessMode) {
      text = ['start transaction', settings.isolationLevel && `isolation level ${settings.isolationLevel}`, settings.accessMode].filter(Boolean).join(' ');
    }
    const lazy = connection as LazyBeginConnection;
    lazy.pendingBegin = CompiledQuery.raw(text);
    lazy.ranAlone = false;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const lazy = connection as LazyBeginConnection;
    if (lazy.begun()) await lazy.inner.executeQuery(CompiledQuery.raw('commit'));
    lazy.reset();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const lazy = connection as LazyBeginConnection;
    if (lazy.begun()) await lazy.inner.executeQuery(CompiledQuery.raw('rollback'));
    lazy.reset();
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const lazy = connection as LazyBeginConnection;
    lazy.reset();
    await this.inner.releaseConnection(lazy.inner);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

class LazyBeginConnection implements DatabaseConnection {
  pendingBegin: CompiledQuery | null = null;
  /** The transaction was one statement, run without BEGIN: nothing to commit or roll back. */
  ranAlone = false;

  constructor(readonly inner: DatabaseConnection) {}

  begun(): boolean {
    return this.pendingBegin === null && !this.ranAlone;
  }

  reset(): void {
    this.pendingBegin = null;
    this.ranAlone = false;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    await this.beginFor(query);
    return this.inner.executeQuery<R>(query);
  }

  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    await this.beginFor(query);
    yield* this.inner.streamQuery<R>(query, chunkSize);
  }

  private async beginFor(query: CompiledQuery): Promise<void> {
    // Outside any transaction by then: refuse rather than write without atomicity.
    if (this.ranAlone) throw new Error('a statement after the one that was the whole transaction');
    const begin = this.pendingBegin;
    if (!begin) return;
    this.pendingBegin = null;
    if (wholeTransactions.has(query)) this.ranAlone = true;
    else await this.inner.executeQuery(begin);
  }
}
