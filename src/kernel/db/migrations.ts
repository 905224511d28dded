import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { SevaBootError } from '../errors/boot-error.js';
import type { Database } from './database.js';

/** One forward-only schema change, written once for PostgreSQL 15 and PGlite alike. */
export interface Migration {
  /** Sorts the migrations of one owner: `001_init`, `002_add_status`. */
  name: string;
  sql: string;
}

export interface MigrationSet {
  /** The schema the migrations own (`kernel`, or a module name). */
  owner: string;
  migrations: readonly Migration[];
}

const LOCK_KEY = 0x5e7a_0001;

/**
 * Applies every pending migration of every owner in one transaction, under an advisory lock so
 * that processes starting together on one PostgreSQL do not race. A failure rolls back all of
 * them and names the owner, the migration and the database's message.
 */
export async function runMigrations(database: Database, sets: readonly MigrationSet[]): Promise<string[]> {
  const applied: string[] = [];
  await database.db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${LOCK_KEY})`.execute(trx);
    const present = await sql<{ present: boolean }>`select to_regclass('kernel.migrations') is not null as present`.execute(trx);
    const done = present.rows[0]?.present ? await trx.selectFrom('kernel.migrations').select(['owner', 'name', 'checksum']).execute() : [];
    const known = new Map(done.map((row) => [`${row.owner}/${row.name}`, row.checksum as string]));
    const pending: Array<{ set: MigrationSet; migrations: Array<{ migration: Migration; id: string; checksum: string }> }> = [];
    for (const set of sets) {
      checkNames(set);
      const todo = [];
      for (const migration of [...set.migrations].sort((a, b) => a.name.localeCompare(b.name))) {
        const id = `${set.owner}/${migration.name}`;
        const checksum = createHash('sha256').update(migration.sql).digest('hex').slice(0, 16);
        const previous = known.get(id);
        if (previous === undefined) todo.push({ migration, id, checksum });
        else if (previous !== checksum) throw new SevaBootError(`migration ${id} was changed after it was applied; add a new migration instead`);
      }
      if (todo.length) pending.push({ set, migrations: todo });
    }
    // An up-to-date database costs the lock and one read: no DDL on every start.
    if (pending.length === 0) return;
    await sql`create schema if not exists kernel`.execute(trx);
    await sql`create table if not exists kernel.migrations (
      owner text not null, name text not null, checksum text not null,
      applied_at timestamptz not null default now(), primary key (owner, name))`.execute(trx);
    for (const { set, migrations } of pending) {
      await sql`create schema if not exists ${sql.id(set.owner)}`.execute(trx);
      for (const { migration, id, checksum } of migrations) {
        await applyOne(trx, set.owner, migration, id);
        await trx.insertInto('kernel.migrations').values({ owner: set.owner, name: migration.name, checksum }).execute();
        applied.push(id);
      }
    }
  });
  return applied;
}

async function applyOne(trx: Kysely<any>, owner: string, migration: Migration, id: string): Promise<void> {
  try {
    await sql`set local search_path to ${sql.id(owner)}, public`.execute(trx);
    await sql.raw(migration.sql).execute(trx);
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    throw new SevaBootError(`migration ${id} failed: ${message}`);
  }
}

function checkNames(set: MigrationSet): void {
  if (!/^[a-z][a-z0-9_]*$/.test(set.owner)) throw new SevaBootError(`migration owner "${set.owner}" is not a valid schema name`);
  const seen = new Set<string>();
  for (const m of set.migrations) {
    if (seen.has(m.name)) throw new SevaBootError(`migration ${set.owner}/${m.name} is declared twice`);
    seen.add(m.name);
  }
}

export async function pendingMigrations(database: Database, sets: readonly MigrationSet[]): Promise<string[]> {
  let done: Set<string>;
  try {
    const rows = await database.db.selectFrom('kernel.migrations').select(['owner', 'name']).execute();
    done = new Set(rows.map((r) => `${r.owner}/${r.name}`));
  } catch {
    done = new Set();
  }
  return sets.flatMap((s) => s.migrations.map((m) => `${s.owner}/${m.name}`)).filter((id) => !done.has(id));
}
