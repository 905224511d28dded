import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModules } from '../../../test/fixtures/modules.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from '../../../test/support/test-database.js';
import { eventually, startTestRuntime, TEST_MASTER_KEY, type TestRuntime } from '../../../test/support/test-runtime.js';
import { loadConfig } from '../config/load.js';
import { startRuntime } from '../runtime.js';
import { systemActor } from '../modules/actor.js';
import { systemModule } from '../system/module.js';
import { defineModule } from '../modules/define.js';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime(fixtureModules);
});
afterAll(() => t?.close());

const db = () => t.runtime.database.db;
const ping = () => t.runtime.contextFor('ping', systemActor('test', 'in'));
const stamped = async (id: string) => db().selectFrom('ping.stamps').selectAll().where('id', '=', id).executeTakeFirst();

describe('jobs', () => {
  it('runs a job sent outside a transaction, as the system', async () => {
    await ping().jobs.send('stamp', { id: 'j-plain' });
    const row = await eventually(() => stamped('j-plain'), 'the job to run');
    expect(row.job_actor).toBe('system:job:ping.stamp');
  });

  it('sends a job with its transaction: committed runs, rolled back never exists', async () => {
    await ping().transaction(async () => {
      await ping().jobs.send('stamp', { id: 'j-commit' });
    });
    await expect(
      ping().transaction(async () => {
        await ping().jobs.send('stamp', { id: 'j-rollback' });
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    await eventually(() => stamped('j-commit'), 'the committed job');
    const queued = await db().selectFrom('kernel_jobs.job').select('data').where('name', '=', 'ping.stamp').execute();
    expect(queued.map((r) => (r.data as { id: string }).id)).not.toContain('j-rollback');
    expect(await stamped('j-rollback')).toBeUndefined();
  });
});

describe('jobs on a database that has the queue already', () => {
  it('starts the workers beside serving, and a job sent in a transaction at once still runs', async () => {
    const url = await createFreshPostgresDatabase();
    const dataDir = mkdtempSync(join(tmpdir(), 'seva-jobs-'));
    const config = loadConfig({ env: {}, overrides: { dataDir, logLevel: 'warn', masterKey: TEST_MASTER_KEY, ...(url ? { databaseUrl: url } : {}) } });
    try {
      const first = await startRuntime({ config, catalog: fixtureModules, listen: false });
      // A fresh database installs the queue before serving.
      expect(first.jobs.status).toBe('ok');
      await first.stop();
      const again = await startRuntime({ config, catalog: fixtureModules, listen: false });
      try {
        expect(await again.jobs.installed([])).toBe(true);
        const ctx = again.contextFor('ping', systemActor('test', 'in'));
        await ctx.transaction(() => ctx.jobs.send('stamp', { id: 'j-early' }).then(() => undefined));
        const row = await eventually(() => again.database.db.selectFrom('ping.stamps').selectAll().where('id', '=', 'j-early').executeTakeFirst(), 'the early job to run');
        expect(row.job_actor).toBe('system:job:ping.stamp');
        expect(again.jobs.status).toBe('ok');
      } finally {
        await again.stop();
      }
      // A schedule changed in code reaches the queue on the next start; one removed is dropped.
      const cronOf = async (schedule: string | undefined) => {
        const cron = defineModule({ name: 'cron', jobs: { tick: { ...(schedule ? { schedule } : {}), async handler() {} } } });
        const run = await startRuntime({ config, catalog: [...fixtureModules, cron], listen: false });
        try {
          await eventually(async () => run.jobs.status === 'ok', 'the workers to start');
          const rows = await run.database.db.selectFrom('kernel_jobs.schedule').select('cron').where('name', '=', 'cron.tick').execute();
          return rows[0]?.cron ?? null;
        } finally {
          await run.stop();
        }
      };
      expect(await cronOf('7 3 * * *')).toBe('7 3 * * *');
      expect(await cronOf('7 3 * * *')).toBe('7 3 * * *');
      expect(await cronOf('9 4 * * *')).toBe('9 4 * * *');
      expect(await cronOf(undefined)).toBeNull();
    } finally {
      if (url) await dropPostgresDatabase(url);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('system.prune', () => {
  it('drops published events and idempotency marks past their retention, and nothing else', async () => {
    const old = new Date(Date.now() - 40 * 86_400_000);
    await db()
      .insertInto('kernel.outbox')
      .values([
        { id: 'evt_old_published', name: 'ping.note.recorded', payload: '{}', published_at: old },
        { id: 'evt_old_unpublished', name: 'ping.note.recorded', payload: '{}', published_at: null, occurred_at: old },
      ])
      .execute();
    // The unpublished one would be delivered by the running bus; park it as published-now instead.
    await db().updateTable('kernel.outbox').set({ published_at: new Date() }).where('id', '=', 'evt_old_unpublished').execute();
    await db().insertInto('kernel.processed_events').values({ consumer: 'x.y', event_id: 'evt_old', processed_at: old }).execute();
    await systemModule.jobs!.prune!.handler(t.runtime.contextFor('system', systemActor('test')), {});
    const ids = (await db().selectFrom('kernel.outbox').select('id').where('id', 'in', ['evt_old_published', 'evt_old_unpublished']).execute()).map((r) => r.id);
    expect(ids).toEqual(['evt_old_unpublished']);
    expect(await db().selectFrom('kernel.processed_events').selectAll().where('event_id', '=', 'evt_old').execute()).toHaveLength(0);
  });
});
