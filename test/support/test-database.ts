import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/kernel/db/database.js';
import { runMigrations, type MigrationSet } from '../../src/kernel/db/migrations.js';
import { kernelMigrations } from '../../src/kernel/kernel-migrations.js';

export interface TestDatabase {
  database: Database;
  /** The connection string of the fresh database (PostgreSQL runs only). */
  url?: string;
  close(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file: in-memory PGlite by default, or a new database
 * on the PostgreSQL server named by DATABASE_URL (dropped again on close).
 */
export async function openTestDatabase(extra: MigrationSet[] = []): Promise<TestDatabase> {
  const url = await createFreshPostgresDatabase();
  const database = await openDatabase({ databaseUrl: url, dataDir: 'memory://', poolSize: 5 });
  await runMigrations(database, [kernelMigrations, ...extra]);
  return {
    database,
    ...(url ? { url } : {}),
    close: async () => {
      await database.close();
      if (url) await dropPostgresDatabase(url);
    },
  };
}

/** With DATABASE_URL set: a new empty database on that server and its URL; else undefined. */
export async function createFreshPostgresDatabase(): Promise<string | undefined> {
  const base = process.env.DATABASE_URL;
  if (!base) return undefined;
  const name = `seva_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropPostgresDatabase(url: string): Promise<void> {
  const base = process.env.DATABASE_URL;
  if (!base) return;
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}
