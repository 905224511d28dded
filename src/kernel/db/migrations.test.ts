import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { SevaBootError } from '../errors/boot-error.js';
import { lockDataDir } from './data-dir-lock.js';
import { runMigrations, type MigrationSet } from './migrations.js';

async function bootError(promise: Promise<unknown>): Promise<string> {
  const caught = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(caught).toBeInstanceOf(SevaBootError);
  const message = (caught as SevaBootError).message;
  expect(message).not.toContain('\n');
  return message;
}

describe('runMigrations', () => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await openTestDatabase();
  });
  afterAll(async () => {
    await test?.close();
  });

  const db = () => test.database.db;
  const recorded = async (owner: string) =>
    (await db().selectFrom('kernel.migrations').select('name').where('owner', '=', owner).orderBy('name').execute()).map((r) => r.name as string);
  const tableSchemas = async (table: string) =>
    (
      await sql<{ table_schema: string }>`select table_schema from information_schema.tables where table_name = ${table} order by 1`.execute(db())
    ).rows.map((r) => r.table_schema);
  const schemaExists = async (schema: string) =>
    (await sql`select 1 from information_schema.schemata where schema_name = ${schema}`.execute(db())).rows.length === 1;

  it('applies migrations in name order into the owner schema, and a second run applies nothing', async () => {
    // Declared out of order: 002 fills the table 001 creates, so only name order succeeds.
    const set: MigrationSet = {
      owner: 'demo',
      migrations: [
        { name: '002_fill', sql: `insert into items (id) values ('first');` },
        { name: '001_items', sql: `create table items (id text primary key);` },
      ],
    };
    expect(await runMigrations(test.database, [set])).toEqual(['demo/001_items', 'demo/002_fill']);
    expect(await schemaExists('demo')).toBe(true);
    expect(await tableSchemas('items')).toEqual(['demo']);
    expect(await recorded('demo')).toEqual(['001_items', '002_fill']);

    expect(await runMigrations(test.database, [set])).toEqual([]);
    const rows = await db().selectFrom('demo.items').select('id').execute();
    expect(rows).toEqual([{ id: 'first' }]);
    expect(await recorded('demo')).toEqual(['001_items', '002_fill']);
  });

  it('applies only the new migration when one is added later', async () => {
    const first = { name: '001_a', sql: `create table later_a (id int);` };
    expect(await runMigrations(test.database, [{ owner: 'later', migrations: [first] }])).toEqual(['later/001_a']);
    const second = { name: '002_b', sql: `create table later_b (id int);` };
    expect(await runMigrations(test.database, [{ owner: 'later', migrations: [first, second] }])).toEqual(['later/002_b']);
    expect(await tableSchemas('later_b')).toEqual(['later']);
  });

  it('refuses a migration whose SQL changed after it was applied, and applies nothing of that run', async () => {
    const original = { name: '001_t', sql: `create table changed_t (id int);` };
    await runMigrations(test.database, [{ owner: 'changed', migrations: [original] }]);
    const message = await bootError(
      runMigrations(test.database, [
        {
          owner: 'changed',
          migrations: [
            { name: '001_t', sql: `create table changed_t (id bigint);` },
            { name: '002_u', sql: `create table changed_u (id int);` },
          ],
        },
      ]),
    );
    expect(message).toBe('migration changed/001_t was changed after it was applied; add a new migration instead');
    expect(await recorded('changed')).toEqual(['001_t']);
    expect(await tableSchemas('changed_u')).toEqual([]);
  });

  it('rolls back the whole batch when one migration fails, naming owner/name and the database error', async () => {
    const message = await bootError(
      runMigrations(test.database, [
        { owner: 'before', migrations: [{ name: '001_ok', sql: `create table before_ok (id int);` }] },
        {
          owner: 'failing',
          migrations: [
            { name: '001_good', sql: `create table failing_good (id int);` },
            { name: '002_bad', sql: `insert into missing_table (id) values (1);` },
          ],
        },
      ]),
    );
    expect(message).toMatch(/^migration failing\/002_bad failed: /);
    expect(message).toContain('relation "missing_table" does not exist');
    // Nothing of the batch remains: not the other owner's migration, not the good one before it.
    expect(await tableSchemas('failing_good')).toEqual([]);
    expect(await tableSchemas('before_ok')).toEqual([]);
    expect(await recorded('failing')).toEqual([]);
    expect(await recorded('before')).toEqual([]);
    expect(await schemaExists('failing')).toBe(false);

    // The database is still usable, and the corrected batch applies.
    const fixed = await runMigrations(test.database, [
      { owner: 'failing', migrations: [{ name: '001_good', sql: `create table failing_good (id int);` }] },
    ]);
    expect(fixed).toEqual(['failing/001_good']);
  });

  it('refuses an owner that is not a schema name and a migration declared twice', async () => {
    expect(await bootError(runMigrations(test.database, [{ owner: 'Bad-Owner', migrations: [] }]))).toContain('"Bad-Owner" is not a valid schema name');
    const twice = { name: '001_x', sql: 'select 1;' };
    expect(await bootError(runMigrations(test.database, [{ owner: 'dup', migrations: [twice, twice] }]))).toBe('migration dup/001_x is declared twice');
    expect(await recorded('dup')).toEqual([]);
  });
});

describe('lockDataDir', () => {
  const root = mkdtempSync(join(tmpdir(), 'seva-lock-'));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  let dirCount = 0;
  const freshDir = () => join(root, `data-${++dirCount}`);

  function spawnIdle(): ChildProcess {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(child);
    return child;
  }

  it('creates the folder and a lock file naming this process; release removes it', () => {
    const dir = freshDir();
    const lock = lockDataDir(dir);
    const file = join(dir, 'seva.lock');
    expect(readFileSync(file, 'utf8')).toBe(String(process.pid));
    lock.release();
    expect(existsSync(file)).toBe(false);
    lock.release();
    // Free again: the next take succeeds.
    lockDataDir(dir).release();
  });

  it('refuses a folder whose lock names another live process', async () => {
    const dir = freshDir();
    const child = spawnIdle();
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    lockDataDir(dir).release();
    writeFileSync(join(dir, 'seva.lock'), String(child.pid));
    let caught: unknown;
    try {
      lockDataDir(dir);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SevaBootError);
    expect((caught as Error).message).toBe(`data folder ${dir} is in use by process ${child.pid}; stop it, or point SEVA_DATA_DIR elsewhere`);
    // The refused take leaves the other process's lock alone.
    expect(readFileSync(join(dir, 'seva.lock'), 'utf8')).toBe(String(child.pid));
    child.kill('SIGKILL');
  });

  it('takes over a lock left by a process that has exited', async () => {
    const dir = freshDir();
    const child = spawnIdle();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => child.once('spawn', resolve));
    const deadPid = child.pid!;
    child.kill('SIGKILL');
    await exited;
    lockDataDir(dir).release();
    writeFileSync(join(dir, 'seva.lock'), String(deadPid));
    const lock = lockDataDir(dir);
    expect(readFileSync(join(dir, 'seva.lock'), 'utf8')).toBe(String(process.pid));
    lock.release();
  });

  it('takes over a lock file that names no process', () => {
    const dir = freshDir();
    lockDataDir(dir).release();
    writeFileSync(join(dir, 'seva.lock'), 'garbage');
    const lock = lockDataDir(dir);
    expect(readFileSync(join(dir, 'seva.lock'), 'utf8')).toBe(String(process.pid));
    lock.release();
  });

  it('release does not remove a lock that another process holds by then', () => {
    const dir = freshDir();
    const lock = lockDataDir(dir);
    writeFileSync(join(dir, 'seva.lock'), '2147483000');
    lock.release();
    expect(readFileSync(join(dir, 'seva.lock'), 'utf8')).toBe('2147483000');
  });
});
