import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql, type PostgresPool } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModules } from '../../../test/fixtures/modules.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { SevaError } from '../errors/seva-error.js';
import { systemActor } from '../modules/actor.js';
import type { TxContext } from '../modules/define.js';
import { LazyBeginDialect } from './lazy-begin.js';
import { PGlitePool } from './pglite-pool.js';
import { deferInsert, inTransaction, lastWrite, ownWith } from './transaction-scope.js';

let t: TestRuntime;
let pglite: PGlite | undefined;
beforeAll(async () => {
  // On the embedded engine, the test opens the database itself so it can watch statements reach it.
  if (!process.env.DATABASE_URL) pglite = await PGlite.create();
  t = await startTestRuntime(fixtureModules, {}, false, pglite);
});
afterAll(async () => {
  await t?.close();
  await pglite?.close();
});

const db = () => t.runtime.database.db;
const ping = () => t.runtime.contextFor('ping', systemActor('test', 'in'));
const noRow = () => new SevaError('NO_NOTE', 409, 'no such note');

/** Everything a unit of work writes besides its main row: an event, an audit entry, a row of the module's. */
async function sideWrites(tx: TxContext, id: string) {
  await tx.emit({ name: 'ping.note.recorded', tenantId: 'in', payload: { noteId: id } });
  await tx.audit({ action: 'ping.note.recorded', entityType: 'note', entityId: id, tenantId: 'in' });
  tx.insertLater('stamps', { id: `stamp-${id}`, job_actor: 'test' });
}

async function written(id: string) {
  const [events, audit, stamps, notes] = await Promise.all([
    db().selectFrom('kernel.outbox').select('id').where(sql`payload->>'noteId'`, '=', id).execute(),
    db().selectFrom('kernel.audit_log').select('id').where('entity_id', '=', id).execute(),
    db().selectFrom('ping.stamps').select('id').where('id', '=', `stamp-${id}`).execute(),
    db().selectFrom('ping.notes').select('text').where('id', '=', id).execute(),
  ]);
  return { events: events.length, audit: audit.length, stamps: stamps.length, notes: notes.map((n) => n.text) };
}

describe('lastWrite: a unit of work ending in one statement', () => {
  it('is that one statement when nothing ran before it, and writes the deferred rows with it', async () => {
    const rows = await ping().transaction(async (tx) => {
      await sideWrites(tx, 'lw-alone');
      return tx.lastWrite(tx.db.insertInto('notes').values({ id: 'lw-alone', tenant_id: 'in', text: 'alone' }).returning(['id', 'text']), noRow);
    });
    expect(rows).toEqual([{ id: 'lw-alone', text: 'alone' }]);
    expect(await written('lw-alone')).toEqual({ events: 1, audit: 1, stamps: 1, notes: ['alone'] });
  });

  it('joins the transaction begun by an earlier statement', async () => {
    const rows = await ping().transaction(async (tx) => {
      await tx.db.selectFrom('notes').select('id').limit(1).execute();
      await sideWrites(tx, 'lw-begun');
      return tx.lastWrite(tx.db.insertInto('notes').values({ id: 'lw-begun', tenant_id: 'in', text: 'begun' }).returning(['text']), noRow);
    });
    expect(rows).toEqual([{ text: 'begun' }]);
    expect(await written('lw-begun')).toEqual({ events: 1, audit: 1, stamps: 1, notes: ['begun'] });
  });

  it('writes nothing and throws the given error when its write touches no row', async () => {
    const missing = () => tx0((tx) => tx.lastWrite(tx.db.updateTable('notes').set({ text: 'changed' }).where('id', '=', 'lw-missing').returning(['id']), noRow));
    const tx0 = (last: (tx: TxContext) => Promise<unknown>) =>
      ping().transaction(async (tx) => {
        await sideWrites(tx, 'lw-missing');
        return last(tx);
      });
    await expect(missing()).rejects.toMatchObject({ code: 'NO_NOTE' });
    expect(await written('lw-missing')).toEqual({ events: 0, audit: 0, stamps: 0, notes: [] });
  });

  it('rolls back the earlier statements of the transaction too when its write touches no row', async () => {
    const attempt = ping().transaction(async (tx) => {
      await tx.db.insertInto('notes').values({ id: 'lw-earlier', tenant_id: 'in', text: 'earlier' }).execute();
      await sideWrites(tx, 'lw-earlier');
      return tx.lastWrite(tx.db.updateTable('notes').set({ text: 'x' }).where('id', '=', 'lw-nobody').returning(['id']), noRow);
    });
    await expect(attempt).rejects.toMatchObject({ code: 'NO_NOTE' });
    expect(await written('lw-earlier')).toEqual({ events: 0, audit: 0, stamps: 0, notes: [] });
  });

  it('is an ordinary statement inside a nested transaction, whose refusal rolls back only that part', async () => {
    await ping().transaction(async (outer) => {
      await outer.db.insertInto('notes').values({ id: 'lw-outer', tenant_id: 'in', text: 'outer' }).execute();
      await expect(
        ping().transaction(async (inner) => {
          await sideWrites(inner, 'lw-inner-refused');
          return inner.lastWrite(inner.db.updateTable('notes').set({ text: 'x' }).where('id', '=', 'lw-nobody').returning(['id']), noRow);
        }),
      ).rejects.toMatchObject({ code: 'NO_NOTE' });
      await ping().transaction(async (inner) => {
        await sideWrites(inner, 'lw-inner');
        await inner.lastWrite(inner.db.insertInto('notes').values({ id: 'lw-inner', tenant_id: 'in', text: 'inner' }).returning(['id']), noRow);
      });
      // The outer transaction goes on after the nested last write.
      await sideWrites(outer, 'lw-outer');
    });
    expect(await written('lw-inner-refused')).toEqual({ events: 0, audit: 0, stamps: 0, notes: [] });
    expect(await written('lw-inner')).toEqual({ events: 1, audit: 1, stamps: 1, notes: ['inner'] });
    expect(await written('lw-outer')).toEqual({ events: 1, audit: 1, stamps: 1, notes: ['outer'] });
  });

  it('puts its own WITH clauses at the top of its one statement, and undoes them when it touches no row', async () => {
    await ping().transaction(async (tx) => {
      await tx.db.insertInto('notes').values(['lw-own-a', 'lw-own-b'].map((id) => ({ id, tenant_id: 'in', text: 'before' }))).execute();
    });
    /** Touches note `first` in a WITH clause, then note b only where the clause touched a row. */
    const both = (first: string, id: string) =>
      ping().transaction(async (tx) => {
        await sideWrites(tx, id);
        return tx.lastWrite(
          tx.db
            .with('touched', (db) => db.updateTable('notes').set({ text: `touched by ${id}` }).where('id', '=', first).returning('id'))
            .updateTable('notes')
            .from('touched')
            .set({ text: `after ${id}` })
            .where('notes.id', '=', 'lw-own-b')
            .returning(['notes.id as id', 'touched.id as first']),
          noRow,
        );
      });
    await expect(both('lw-own-nobody', 'lw-own-refused')).rejects.toMatchObject({ code: 'NO_NOTE' });
    expect(await written('lw-own-refused')).toEqual({ events: 0, audit: 0, stamps: 0, notes: [] });
    expect(await both('lw-own-a', 'lw-own')).toEqual([{ id: 'lw-own-b', first: 'lw-own-a' }]);
    expect(await written('lw-own')).toMatchObject({ events: 1, audit: 1, stamps: 1 });
    expect((await written('lw-own-a')).notes).toEqual(['touched by lw-own']);
    expect((await written('lw-own-b')).notes).toEqual(['after lw-own']);
    // Inside a nested transaction it is an ordinary statement, WITH clauses and all.
    await ping().transaction(async () => {
      expect(await both('lw-own-a', 'lw-own-nested')).toEqual([{ id: 'lw-own-b', first: 'lw-own-a' }]);
    });
    expect((await written('lw-own-a')).notes).toEqual(['touched by lw-own-nested']);
    expect((await written('lw-own-b')).notes).toEqual(['after lw-own-nested']);
  });

  it('splits a builder into body and own WITH clauses exactly as its compiled query', async () => {
    const view = db().withSchema('ping');
    const builders = [
      view
        .with('d', (w) => w.updateTable('notes').set({ text: 'x' }).where('id', '=', 'a').returning('id'))
        .with('e(n)', (w) => w.selectFrom('d').select(sql<number>`1`.as('n')))
        .updateTable('stamps')
        .from('d')
        .set({ job_actor: 'y' })
        .whereRef('stamps.id', '=', 'd.id')
        .where('stamps.job_actor', '<>', 'z')
        .returning('stamps.id'),
      view.updateTable('notes').set({ text: 'x' }).where('id', '=', 'b').returning('id'),
    ];
    for (const builder of builders) {
      const fromBuilder = ownWith(db(), builder);
      const fromCompiled = ownWith(db(), builder.compile());
      expect(fromBuilder.main.sql).toBe(fromCompiled.main.sql);
      expect(fromBuilder.main.parameters).toEqual(fromCompiled.main.parameters);
      expect(fromBuilder.own.map((w) => [w.name, w.columns, w.query.sql, w.query.parameters])).toEqual(fromCompiled.own.map((w) => [w.name, w.columns, w.query.sql, w.query.parameters]));
      // The module's schema reached every part.
      expect(fromBuilder.main.sql).toContain('"ping".');
    }
    expect(ownWith(db(), builders[0]!).own.map((w) => w.name)).toEqual(['d', 'e']);
  });

  it('refuses an event, audit entry or row deferred after it', async () => {
    const late = ping().transaction(async (tx) => {
      await tx.lastWrite(tx.db.insertInto('notes').values({ id: 'lw-late', tenant_id: 'in', text: 'late' }).returning(['id']), noRow);
      await tx.emit({ name: 'ping.note.recorded', tenantId: 'in', payload: { noteId: 'lw-late' } });
    });
    await expect(late).rejects.toThrow(/after the transaction's last write/);
    expect((await written('lw-late')).events).toBe(0);
  });

  it('leaves the connection usable: a transaction that wrote nothing, then ordinary ones', async () => {
    await ping().transaction(async () => undefined);
    for (let i = 0; i < 3; i++) {
      await ping().transaction(async (tx) => {
        await tx.db.insertInto('notes').values({ id: `lw-after-${i}`, tenant_id: 'in', text: 'after' }).execute();
      });
    }
    expect((await written('lw-after-2')).notes).toEqual(['after']);
  });
});

describe('the statements that reach the database', () => {
  /** The same database through its own pool, recording the first word of each statement sent. */
  async function watched<T>(work: (db: Kysely<any>) => Promise<T>): Promise<{ sent: string[]; result?: T; error?: unknown }> {
    const sent: string[] = [];
    const pool: PostgresPool = process.env.DATABASE_URL ? new pg.Pool({ connectionString: t.runtime.config.databaseUrl, max: 1 }) : new PGlitePool(pglite!);
    const recording: PostgresPool = {
      connect: async () => {
        const client = await pool.connect();
        return {
          query: ((text: string, values: unknown[]) => {
            sent.push(/^with .*\bseva_main as \(/.test(text) ? 'one statement' : text.split(/\s/)[0]!.toLowerCase());
            return client.query(text, values);
          }) as any,
          release: () => client.release(),
        };
      },
      end: () => pool.end(),
    };
    const db = new Kysely<any>({ dialect: new LazyBeginDialect({ pool: recording }) });
    try {
      return { sent, result: await work(db) };
    } catch (error) {
      return { sent, error };
    } finally {
      await db.destroy();
    }
  }
  const note = (db: Kysely<any>, id: string) => db.insertInto('ping.notes').values({ id, tenant_id: 'in', text: id }).returning('id').compile();
  const stamp = (trx: Kysely<any>, id: string) => deferInsert(trx, 'ping.stamps', { id: `stamp-${id}`, job_actor: 'test' });

  it('sends a unit of work that ends in its last write as that one statement: no BEGIN, no COMMIT', async () => {
    const { sent, result } = await watched((db) => inTransaction(db, async (trx) => { stamp(trx, 'st-alone'); return lastWrite(trx, note(trx, 'st-alone'), noRow); }));
    expect(result).toEqual([{ id: 'st-alone' }]);
    expect(sent).toEqual(['one statement']);
    expect(await written('st-alone')).toMatchObject({ stamps: 1, notes: ['st-alone'] });
  });

  it('sends a last write with WITH clauses of its own as that one statement too', async () => {
    const own = (trx: Kysely<any>) =>
      ownWith(
        trx,
        trx
          .with('n', (db) => db.insertInto('ping.notes').values({ id: 'st-own', tenant_id: 'in', text: 'own' }).returning('id'))
          .insertInto('ping.stamps')
          .columns(['id', 'job_actor'])
          .expression((eb) => eb.selectFrom('n').select([sql<string>`'stamp-' || n.id`.as('id'), sql<string>`'test'`.as('job_actor')]))
          .returning('id')
          .compile(),
      );
    const { sent, result } = await watched((db) => inTransaction(db, async (trx) => { const { main, own: clauses } = own(trx); return lastWrite(trx, main, noRow, clauses); }));
    expect(result).toEqual([{ id: 'stamp-st-own' }]);
    expect(sent).toEqual(['one statement']);
    expect(await written('st-own')).toMatchObject({ stamps: 1, notes: ['own'] });
  });

  it('begins the transaction with its first statement, and sends nothing for one that ran none', async () => {
    const { sent } = await watched(async (db) => {
      await inTransaction(db, async () => undefined);
      await inTransaction(db, async (trx) => {
        await trx.selectFrom('ping.notes').select('id').limit(1).execute();
        return lastWrite(trx, note(trx, 'st-begun'), noRow);
      });
    });
    expect(sent).toEqual(['begin', 'select', 'one statement', 'commit']);
  });

  it('sends no ROLLBACK for a last write that touched no row: its one statement failed whole', async () => {
    const missing = (trx: Kysely<any>) => trx.updateTable('ping.notes').set({ text: 'x' }).where('id', '=', 'st-nobody').returning('id').compile();
    const { sent, error } = await watched((db) => inTransaction(db, async (trx) => { stamp(trx, 'st-nobody'); return lastWrite(trx, missing(trx), noRow); }));
    expect(error).toMatchObject({ code: 'NO_NOTE' });
    expect(sent).toEqual(['one statement']);
    expect((await written('st-nobody')).stamps).toBe(0);
  });
});

describe.runIf(process.env.DATABASE_URL)('prepared statements on PostgreSQL', () => {
  it('prepares a statement run again and again on the connection, and answers each call with its own values', async () => {
    const names = await ping().transaction(async (tx) => {
      for (let i = 0; i < 4; i++) {
        const { rows } = await sql<{ v: string }>`select ${`v${i}`}::text as seva_prepared_probe`.execute(tx.db);
        expect(rows).toEqual([{ seva_prepared_probe: `v${i}` }]);
      }
      return (await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(tx.db)).rows;
    });
    expect(names.some((n) => n.name.startsWith('seva_') && n.statement.includes('seva_prepared_probe'))).toBe(true);
  });
});
