import { PGlite } from '@electric-sql/pglite';
import { fuzzystrmatch } from '@electric-sql/pglite/contrib/fuzzystrmatch';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { Kysely, sql } from 'kysely';
import { LazyBeginDialect } from './lazy-begin.js';
import { prepareRepeatedStatements } from './prepared-statements.js';
import { plainRowObjects } from './row-objects.js';
import { PGlitePool } from './pglite-pool.js';
import { takePrefetchedPgliteWasm } from './pglite-wasm.js';
import { lockDataDir } from './data-dir-lock.js';
import { SevaBootError } from '../errors/boot-error.js';

const INT8 = 20;
const NUMERIC = 1700;

/** Fuzzy search (trigram similarity, double metaphone, levenshtein), as on PostgreSQL with contrib. */
const PGLITE_EXTENSIONS = { pg_trgm, fuzzystrmatch };

export type DatabaseKind = 'pglite' | 'postgres';

/**
 * One database, whichever engine: Kysely for queries, `executeSql` for libraries that bring
 * their own SQL (the job queue), and `close` that releases everything the open took.
 */
export interface Database {
  readonly kind: DatabaseKind;
  readonly db: Kysely<any>;
  executeSql(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
  /** Runs a multi-statement script without parameters (migrations). */
  exec(script: string): Promise<void>;
  /** False once closed (or, for the embedded engine, stopped). */
  isOpen(): boolean;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** PostgreSQL connection string; when absent the embedded engine is used. */
  databaseUrl?: string | undefined;
  /** Embedded data folder; `memory://` keeps everything in memory (tests). */
  dataDir?: string | undefined;
  /** An already open PGlite (a test template clone); the caller keeps ownership of its files. */
  pglite?: PGlite | undefined;
  poolSize?: number | undefined;
  applicationName?: string | undefined;
  /** Off behind a pooler in transaction mode (PgBouncer), which cannot keep them per client. */
  preparedStatements?: boolean | undefined;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options);
  return openPGlite(options);
}

async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<Database> {
  // Loaded only when used: the embedded shape should not pay for the driver at start.
  const { default: pg } = await import('pg');
  const types = {
    getTypeParser: (oid: number, format?: any) => {
      if (oid === INT8) return (value: string) => Number(value);
      if (oid === NUMERIC) return (value: string) => value;
      return pg.types.getTypeParser(oid, format);
    },
  };
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    types: types as any,
    application_name: options.applicationName ?? 'seva',
  });
  // An idle client dying (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  plainRowObjects(pool);
  if (options.preparedStatements !== false) prepareRepeatedStatements(pool);
  try {
    await pool.query('select 1');
  } catch (err) {
    await pool.end().catch(() => {});
    const { hostname, port, pathname } = new URL(url);
    // Host and database only: the URL may carry a password.
    throw new SevaBootError(`cannot reach PostgreSQL at ${hostname}:${port || 5432}${pathname}: ${(err as Error).message}`);
  }
  const db = new Kysely<any>({ dialect: new LazyBeginDialect({ pool }) });
  let open = true;
  return {
    kind: 'postgres',
    db,
    executeSql: (text, values) => pool.query(text, values as any[]),
    exec: async (script) => {
      await pool.query(script);
    },
    isOpen: () => open,
    close: async () => {
      open = false;
      await db.destroy();
      await pool.end().catch(() => {});
    },
  };
}

async function openPGlite(options: OpenDatabaseOptions): Promise<Database> {
  const dataDir = options.dataDir ?? 'memory://';
  const inMemory = dataDir.startsWith('memory://');
  const lock = options.pglite || inMemory ? undefined : lockDataDir(dataDir);
  let pglite: PGlite;
  try {
    const wasm = options.pglite ? undefined : await takePrefetchedPgliteWasm();
    pglite =
      options.pglite ??
      (await PGlite.create(inMemory ? undefined : dataDir, {
        ...(wasm ? { pgliteWasmModule: wasm } : {}),
        parsers: { [INT8]: (value: string) => Number(value), [NUMERIC]: (value: string) => value },
        // Contrib extensions PostgreSQL ships in its own packages; PGlite only makes them
        // creatable when they are handed over here. A module still runs `create extension`.
        extensions: PGLITE_EXTENSIONS,
      }));
  } catch (err) {
    lock?.release();
    throw err;
  }
  const pool = new PGlitePool(pglite);
  const db = new Kysely<any>({ dialect: new LazyBeginDialect({ pool }) });
  return {
    kind: 'pglite',
    db,
    executeSql: async (text, values) => {
      // Libraries send parameterless multi-statement scripts too; only the simple protocol runs those.
      if (!values || values.length === 0) return { rows: (await pool.execScript(text)).at(-1)?.rows ?? [] };
      const client = await pool.connect();
      try {
        return await client.query(text, values ?? []);
      } finally {
        client.release();
      }
    },
    exec: async (script) => {
      await pool.execScript(script);
    },
    isOpen: () => !pglite.closed,
    close: async () => {
      await db.destroy();
      if (!options.pglite) await pglite.close();
      lock?.release();
    },
  };
}

/**
 * Whether the database answers: a round trip to a server; for the embedded engine, which runs
 * in this process, whether it is open — a query there would wait behind whatever work is queued
 * on its one connection (the job workers' start), which says nothing about reachability.
 */
export async function ping(database: Database): Promise<void> {
  if (database.kind === 'pglite') {
    if (!database.isOpen()) throw new Error('the embedded database is closed');
    return;
  }
  await sql`select 1`.execute(database.db);
}
