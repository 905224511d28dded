import type { PGlite } from '@electric-sql/pglite';
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';

/**
 * Presents one PGlite instance as the `pg.Pool` shape that Kysely's PostgresDialect expects.
 * PGlite has a single connection, so a checked-out client holds an exclusive lease until it is
 * released: a transaction's statements can never interleave with another caller's.
 */
export class PGlitePool implements PostgresPool {
  private queue: Array<() => void> = [];
  private leased = false;

  constructor(readonly pglite: PGlite) {}

  async connect(): Promise<PostgresPoolClient> {
    await this.acquire();
    let released = false;
    const pglite = this.pglite;
    return {
      query: (async (sqlText: string, parameters: readonly unknown[]) => {
        // Without parameters, use the simple protocol: it is the only one that runs scripts.
        const result =
          parameters.length === 0
            ? ((await pglite.exec(sqlText)).at(-1) ?? { rows: [], affectedRows: 0 })
            : await pglite.query(sqlText, parameters as unknown[]);
        return {
          rows: result.rows,
          rowCount: result.affectedRows ?? result.rows.length,
          command: commandOf(sqlText),
        } satisfies PostgresQueryResult<unknown>;
      }) as PostgresPoolClient['query'],
      release: () => {
        if (released) return;
        released = true;
        this.releaseLease();
      },
    };
  }

  /** Runs one multi-statement script (no parameters) under the lease. */
  async execScript(sqlText: string): Promise<Array<{ rows: any[] }>> {
    await this.acquire();
    try {
      return await this.pglite.exec(sqlText);
    } finally {
      this.releaseLease();
    }
  }

  async end(): Promise<void> {
    // The owner closes PGlite; Kysely's destroy() must not do it twice.
  }

  private acquire(): Promise<void> {
    if (!this.leased) {
      this.leased = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  private releaseLease(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.leased = false;
  }
}

function commandOf(sqlText: string): PostgresQueryResult<unknown>['command'] {
  const word = /^\s*(\w+)/.exec(sqlText)?.[1]?.toUpperCase();
  switch (word) {
    case 'INSERT':
    case 'UPDATE':
    case 'DELETE':
    case 'MERGE':
    case 'SELECT':
      return word;
    default:
      return 'SELECT';
  }
}
