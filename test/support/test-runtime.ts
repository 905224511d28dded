import type { PGlite } from '@electric-sql/pglite';
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { loadConfig, startRuntime, type Actor, type ModuleDef, type Runtime, type SevaConfig } from '../../src/kernel/index.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from './test-database.js';

export const TEST_MASTER_KEY = Buffer.alloc(32, 11).toString('base64');

export interface TestRuntime {
  runtime: Runtime;
  /** Headers that act as `actor` (an internal token), for `runtime.http.inject`. */
  as(actor: Partial<Actor> & { permissions: string[] }): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/**
 * A whole Seva runtime for one test file, on a fresh database (PGlite in memory, or a new
 * PostgreSQL database when DATABASE_URL is set) and, when NATS_URL is set, its own NATS stream;
 * with REDIS_URL, rate limits live in Redis.
 */
/** `pglite`: an embedded database the test opened itself (to look at it from the side), used when DATABASE_URL is unset. */
export async function startTestRuntime(modules: readonly ModuleDef<any>[], overrides: Partial<SevaConfig> = {}, listen = false, pglite?: PGlite): Promise<TestRuntime> {
  const url = await createFreshPostgresDatabase();
  // Its own stream and subjects on a shared NATS, its own keys on a shared Redis.
  const namespace = process.env.NATS_URL || process.env.REDIS_URL ? `t${randomBytes(5).toString('hex')}` : 'seva';
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: 'memory://',
      logLevel: 'warn',
      masterKey: TEST_MASTER_KEY,
      eventsNamespace: namespace,
      ...(url ? { databaseUrl: url, databasePoolSize: 5 } : {}),
      ...(process.env.NATS_URL ? { natsUrl: process.env.NATS_URL } : {}),
      ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
      ...overrides,
    },
  });
  const runtime = await startRuntime({ config, catalog: modules, listen, ...(pglite && !url ? { pglite } : {}) });
  return {
    runtime,
    as: async (actor) => ({
      'x-seva-actor': await runtime.internalToken({ kind: 'user', id: 'usr_test', roles: [], ...actor }),
    }),
    close: async () => {
      await runtime.stop();
      if (url) await dropPostgresDatabase(url);
      if (process.env.NATS_URL) await deleteStream(process.env.NATS_URL, namespace);
    },
  };
}

export async function deleteStream(natsUrl: string, namespace: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(`${namespace.toUpperCase()}_EVENTS`).catch(() => {});
  } finally {
    await nc.close();
  }
}

/** Polls `probe` until it returns a truthy value (bounded); for waiting on asynchronous delivery. */
export async function eventually<T>(probe: () => Promise<T>, what: string, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}
