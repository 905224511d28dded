import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { eventually, startTestRuntime } from '../../../test/support/test-runtime.js';
import { loadConfig } from '../config/load.js';
import { SevaBootError } from '../errors/boot-error.js';
import { createLogger } from '../log/logger.js';
import { startRuntime } from '../runtime.js';
import { claimRelay, relayOf, type RelayClaim } from './relay-claim.js';

const log = createLogger({ level: 'silent' });

describe('the event relay claim', () => {
  let t: TestDatabase;
  const held: RelayClaim[] = [];
  const claim = async (relay: string, options: { heartbeatMs?: number } = {}) => {
    const c = await claimRelay(t.database.db, relay, log, options);
    held.push(c);
    return c;
  };
  const releaseAll = async () => {
    for (const c of held.splice(0)) await c.release();
  };
  const claims = () => t.database.db.selectFrom('kernel.event_relays').select(['process_id', 'relay', 'seen_at']).orderBy('relay').execute();

  beforeAll(async () => {
    t = await openTestDatabase();
  });
  afterAll(async () => {
    await releaseAll();
    await t.close();
  });

  it('lets any number of processes relay the same way, and refuses one that would relay otherwise', async () => {
    await claim(relayOf('alpha'));
    await claim(relayOf('alpha'));
    await expect(claim(relayOf('beta'))).rejects.toThrow(SevaBootError);
    await expect(claim(relayOf(undefined))).rejects.toThrow(/relays its events to NATS under SEVA_EVENTS_NAMESPACE=alpha; this one would relay them in process/);
    expect((await claims()).map((c) => c.relay)).toEqual(['nats:alpha', 'nats:alpha']);
    await releaseAll();
  });

  it('allows the other route once the processes of the first have released their claims', async () => {
    const first = await claim(relayOf('alpha'));
    await first.release();
    held.splice(held.indexOf(first), 1);
    await claim(relayOf(undefined));
    expect((await claims()).map((c) => c.relay)).toEqual(['local']);
    await releaseAll();
  });

  it('lets a claim not renewed for 30 s lapse, as a killed process leaves it', async () => {
    const killed = await claimRelay(t.database.db, relayOf('alpha'), log);
    await t.database.db.updateTable('kernel.event_relays').set({ seen_at: sql`now() - interval '31 seconds'` }).where('process_id', '=', killed.processId).execute();
    await claim(relayOf('beta'));
    expect((await claims()).map((c) => c.relay)).toEqual(['nats:beta']);
    await killed.release();
    await releaseAll();
  });

  it('renews its claim while the process runs, and writes it again if it was taken for lapsed', async () => {
    const live = await claim(relayOf('alpha'), { heartbeatMs: 30 });
    await t.database.db.updateTable('kernel.event_relays').set({ seen_at: sql`now() - interval '25 seconds'` }).where('process_id', '=', live.processId).execute();
    await eventually(async () => {
      const [row] = await claims();
      return Date.now() - new Date(row!.seen_at).getTime() < 5_000;
    }, 'the claim to be renewed');
    await t.database.db.deleteFrom('kernel.event_relays').where('process_id', '=', live.processId).execute();
    await eventually(async () => (await claims()).some((c) => c.process_id === live.processId), 'the claim to be written again');
    expect((await claims()).map((c) => c.process_id)).toEqual([live.processId]);
    await releaseAll();
  });
});

// Two runtimes need a server database (PGlite belongs to one process) and NATS for two routes.
describe.skipIf(!(process.env.DATABASE_URL && process.env.NATS_URL))('two runtimes on one database', () => {
  it('the second refuses to start when it would relay the events under another namespace', async () => {
    const first = await startTestRuntime([]);
    try {
      const config = loadConfig({ env: {}, overrides: { ...first.runtime.config, eventsNamespace: `${first.runtime.config.eventsNamespace}x` } });
      await expect(startRuntime({ config, catalog: [], listen: false })).rejects.toThrow(/relays its events to NATS under SEVA_EVENTS_NAMESPACE=/);
      // The same route starts, and stopping it leaves the first one's claim alone.
      const second = await startRuntime({ config: first.runtime.config, catalog: [], listen: false });
      await second.stop();
      const rows = await first.runtime.database.db.selectFrom('kernel.event_relays').select('relay').execute();
      expect(rows).toEqual([{ relay: `nats:${first.runtime.config.eventsNamespace}` }]);
    } finally {
      await first.close();
    }
  });
});
