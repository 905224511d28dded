import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModules } from '../../../test/fixtures/modules.js';
import { eventually, startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { systemActor } from '../modules/actor.js';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime(fixtureModules);
});
afterAll(() => t?.close());

const db = () => t.runtime.database.db;
const ping = () => t.runtime.contextFor('ping', systemActor('test', 'in'));
const pong = () => t.runtime.contextFor('pong', systemActor('test', 'in'));
const record = (id: string) => ping().call<{ id: string; eventId: string }>('ping', 'record', { id, text: `note ${id}` });
const seenFor = async (noteId: string) =>
  (await db().selectFrom('pong.seen').selectAll().where('note_id', '=', noteId).execute()).length;

describe('transactional outbox', () => {
  it('writes the event with the change, and not at all when the change rolls back', async () => {
    await expect(
      ping().transaction(async (tx) => {
        await tx.db.insertInto('notes').values({ id: 'n-rollback', tenant_id: 'in', text: 'x' }).execute();
        await tx.emit({ name: 'ping.note.recorded', payload: { noteId: 'n-rollback' } });
        throw new Error('change refused');
      }),
    ).rejects.toThrow('change refused');
    expect(await db().selectFrom('ping.notes').selectAll().where('id', '=', 'n-rollback').execute()).toHaveLength(0);
    const events = await db().selectFrom('kernel.outbox').selectAll().where(sql`payload->>'noteId'`, '=', 'n-rollback').execute();
    expect(events).toHaveLength(0);
  });

  it('drops the events of a nested part that rolled back, and keeps the rest of the transaction', async () => {
    await ping().transaction(async (tx) => {
      await tx.emit({ name: 'ping.note.recorded', payload: { noteId: 'n-outer' } });
      await expect(
        ping().transaction(async (inner) => {
          await inner.emit({ name: 'ping.note.recorded', payload: { noteId: 'n-inner' } });
          throw new Error('inner refused');
        }),
      ).rejects.toThrow('inner refused');
    });
    const ids = async (noteId: string) => (await db().selectFrom('kernel.outbox').select('id').where(sql`payload->>'noteId'`, '=', noteId).execute()).length;
    expect(await ids('n-outer')).toBe(1);
    expect(await ids('n-inner')).toBe(0);
  });

  it('keeps the order of many events emitted in one transaction', async () => {
    const emitted = await ping().transaction(async (tx) => {
      const out: string[] = [];
      for (let i = 0; i < 1500; i++) out.push(await tx.emit({ name: 'ping.note.recorded', payload: { noteId: `bulk-${i}` } }));
      return out;
    });
    const rows = await db().selectFrom('kernel.outbox').select('id').where('id', 'in', emitted).orderBy('seq').execute();
    expect(rows.map((r) => r.id)).toEqual(emitted);
    await eventually(async () => (await db().selectFrom('pong.seen').select('note_id').where('note_id', 'like', 'bulk-%').execute()).length === 1500, 'bulk delivery');
  });

  it('refuses an event the module did not declare', async () => {
    await expect(ping().transaction((tx) => tx.emit({ name: 'ping.note.deleted', payload: {} }))).rejects.toMatchObject({ code: 'EVENT_NOT_DECLARED' });
  });

  it('delivers a committed event to the consumer with its tenant and request id', async () => {
    const { eventId } = await record('n-deliver');
    await eventually(() => seenFor('n-deliver'), 'delivery');
    const outbox = await db().selectFrom('kernel.outbox').selectAll().where('id', '=', eventId).executeTakeFirstOrThrow();
    expect(outbox.tenant_id).toBe('in');
    expect(outbox.actor_id).toBe('system:test');
    await eventually(async () => (await db().selectFrom('kernel.outbox').select('published_at').where('id', '=', eventId).executeTakeFirst())?.published_at, 'published mark');
  });

  it('handles an event once even when it is delivered again', async () => {
    const { eventId } = await record('n-twice');
    await eventually(() => seenFor('n-twice'), 'first delivery');
    await db().updateTable('kernel.outbox').set({ published_at: null }).where('id', '=', eventId).execute();
    await eventually(async () => (await db().selectFrom('kernel.outbox').select('published_at').where('id', '=', eventId).executeTakeFirst())?.published_at, 'second publication');
    await new Promise((r) => setTimeout(r, 300));
    expect(await seenFor('n-twice')).toBe(1);
    const marks = await db().selectFrom('kernel.processed_events').selectAll().where('event_id', '=', eventId).execute();
    expect(marks).toHaveLength(1);
  });
});

describe('audit entries in a transaction', () => {
  it('commit with it in order, without the entries of a nested part that rolled back, on a valid chain', async () => {
    const audit = (tx: { audit(e: { action: string; entityType: string; entityId: string }): Promise<void> }, id: string) =>
      tx.audit({ action: 'ping.test.audited', entityType: 'note', entityId: id });
    await ping().transaction(async (tx) => {
      await audit(tx, 'a-first');
      await expect(
        ping().transaction(async (inner) => {
          await audit(inner, 'a-inner');
          throw new Error('inner refused');
        }),
      ).rejects.toThrow('inner refused');
      await audit(tx, 'a-last');
    });
    await expect(ping().transaction(async (tx) => { await audit(tx, 'a-rolled-back'); throw new Error('undo'); })).rejects.toThrow('undo');
    const written = await db().selectFrom('kernel.audit_log').select(['entity_id', 'seq']).where('action', '=', 'ping.test.audited').orderBy('seq').execute();
    expect(written.map((r) => r.entity_id)).toEqual(['a-first', 'a-last']);
    // The runtime's sealer, woken by the commit, links them into the chain.
    const rows = await eventually(async () => {
      const sealed = await db().selectFrom('kernel.audit_log').select(['entity_id', 'n']).where('action', '=', 'ping.test.audited').where('n', 'is not', null).orderBy('n').execute();
      return sealed.length === 2 ? sealed : undefined;
    }, 'the audit entries sealed');
    expect(rows.map((r) => r.entity_id)).toEqual(['a-first', 'a-last']);
    expect(Number(rows[1]!.n)).toBe(Number(rows[0]!.n) + 1);
    const verified = await t.runtime.http.inject({ url: '/api/system/v1/audit/verify', headers: await t.as({ permissions: ['system.*'] }) });
    expect(verified.json()).toMatchObject({ ok: true });
  });
});

describe('failing consumers', () => {
  it('retries a failing handler with backoff until it succeeds', async () => {
    await pong().call('pong', 'planFailures', { noteId: 'n-retry', failures: 2 });
    const { eventId } = await record('n-retry');
    await eventually(async () => (await db().selectFrom('kernel.event_retries').selectAll().where('event_id', '=', eventId).execute()).length, 'a retry record');
    await eventually(() => seenFor('n-retry'), 'delivery after retries', 30_000);
    expect(await db().selectFrom('kernel.event_retries').selectAll().where('event_id', '=', eventId).execute()).toHaveLength(0);
    expect(await db().selectFrom('kernel.dead_letters').selectAll().where('event_id', '=', eventId).execute()).toHaveLength(0);
  });

  it('moves an event to the dead letters after its last attempt, shows it to admins and replays it', async () => {
    await pong().call('pong', 'planFailures', { noteId: 'n-dead', failures: 100 });
    const { eventId } = await record('n-dead');
    const dead = await eventually(
      async () => db().selectFrom('kernel.dead_letters').selectAll().where('event_id', '=', eventId).executeTakeFirst(),
      'a dead letter',
      30_000,
    );
    expect(dead.attempts).toBe(3);
    expect(dead.last_error).toContain('planned failure for n-dead');
    expect(await seenFor('n-dead')).toBe(0);

    const admin = await t.as({ permissions: ['system.events.read', 'system.events.replay'] });
    expect((await t.runtime.http.inject({ url: '/api/system/v1/dead-letters' })).statusCode).toBe(401);
    const list = await t.runtime.http.inject({ url: '/api/system/v1/dead-letters?consumer=pong.notes', headers: admin });
    expect(list.json().items).toEqual([expect.objectContaining({ eventId, eventName: 'ping.note.recorded', attempts: 3 })]);

    await pong().call('pong', 'planFailures', { noteId: 'n-dead', failures: 0 });
    const replay = await t.runtime.http.inject({ method: 'POST', url: `/api/system/v1/dead-letters/${dead.id}/replay`, headers: admin });
    expect(replay.statusCode).toBe(202);
    await eventually(() => seenFor('n-dead'), 'delivery after replay', 30_000);
    const again = await t.runtime.http.inject({ method: 'POST', url: `/api/system/v1/dead-letters/${dead.id}/replay`, headers: admin });
    expect(again.statusCode).toBe(404);
  });
});
