import { randomBytes } from 'node:crypto';
import { connect, nanos } from 'nats';
import { describe, expect, it } from 'vitest';
import { startTestRuntime } from '../../../test/support/test-runtime.js';

// A real NATS server: the stream a process creates, or brings to its configuration, on start.
describe.skipIf(!process.env.NATS_URL)('the NATS event stream', () => {
  it('is brought to this configuration when a stream of its name exists with another', async () => {
    const namespace = `ns${randomBytes(4).toString('hex')}`;
    const name = `${namespace.toUpperCase()}_EVENTS`;
    const nc = await connect({ servers: process.env.NATS_URL! });
    const jsm = await nc.jetstreamManager();
    try {
      // Kept for an hour, where Seva keeps events a week: JetStream refuses to add it again as it is.
      await jsm.streams.add({ name, subjects: [`${namespace}.events.>`], max_age: nanos(3_600_000) });
      const t = await startTestRuntime([], { eventsNamespace: namespace });
      try {
        const { config } = await jsm.streams.info(name);
        expect(Number(config.max_age)).toBe(Number(nanos(7 * 24 * 3_600_000)));
        expect(Number(config.duplicate_window)).toBe(Number(nanos(120_000)));
      } finally {
        await t.close();
      }
    } finally {
      await jsm.streams.delete(name).catch(() => {});
      await nc.close();
    }
  });
});
