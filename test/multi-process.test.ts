import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFreshPostgresDatabase, dropPostgresDatabase } from './support/test-database.js';
import { internalTokenFor, startSevaProcess, type SevaProcess } from './support/seva-process.js';
import { deleteStream, eventually, TEST_MASTER_KEY } from './support/test-runtime.js';

const shared = process.env.DATABASE_URL && process.env.NATS_URL;

// Needs a server database and a broker: PGlite belongs to one process by design.
describe.skipIf(!shared)('two processes with different SEVA_MODULES on one PostgreSQL and NATS', () => {
  const namespace = `mp${randomBytes(4).toString('hex')}`;
  let dbUrl: string;
  let pingProcess: SevaProcess;
  let pongProcess: SevaProcess;
  let headers: Record<string, string>;

  beforeAll(async () => {
    dbUrl = (await createFreshPostgresDatabase())!;
    const common = { DATABASE_URL: dbUrl, NATS_URL: process.env.NATS_URL!, SEVA_MASTER_KEY: TEST_MASTER_KEY, SEVA_EVENTS_NAMESPACE: namespace };
    pingProcess = await startSevaProcess({ ...common, SEVA_MODULES: 'ping' });
    pongProcess = await startSevaProcess({ ...common, SEVA_MODULES: 'pong', SEVA_MODULE_URLS: `ping=${pingProcess.url}` });
    const token = await internalTokenFor(
      { kind: 'user', id: 'usr_test', tenantId: 'in', roles: [], permissions: ['pong.relay', 'ping.note.create'] },
      'mp-test',
    );
    headers = { 'x-seva-actor': token, 'content-type': 'application/json' };
  }, 180_000);

  afterAll(async () => {
    await Promise.all([pingProcess?.stop(), pongProcess?.stop()]);
    if (dbUrl) await dropPostgresDatabase(dbUrl);
    await deleteStream(process.env.NATS_URL!, namespace);
  });

  it('each process serves only its own modules', async () => {
    expect((await fetch(`${pingProcess.url}/api/pong/v1/seen`)).status).toBe(404);
    expect((await fetch(`${pongProcess.url}/api/ping/v1/notes-count`)).status).toBe(404);
  });

  it('a call crosses from pong to ping, and ping’s event crosses back to pong', async () => {
    const response = await fetch(`${pongProcess.url}/api/pong/v1/relay`, { method: 'POST', headers, body: JSON.stringify({ text: 'across' }) });
    expect(response.status).toBe(201);
    const relayed = (await response.json()) as { id: string; servedBy: number; relayedBy: number };
    expect(relayed.relayedBy).toBe(pongProcess.pid);
    expect(relayed.servedBy).toBe(pingProcess.pid);

    const seen = await eventually(async () => {
      const body = (await (await fetch(`${pongProcess.url}/api/pong/v1/seen`)).json()) as { items: Array<{ noteId: string; handledBy: number }> };
      return body.items.find((i) => i.noteId === relayed.id);
    }, 'the event in the pong process');
    expect(seen.handledBy).toBe(pongProcess.pid);
  });

  it('a remote call carries the validation error of the module that refused it', async () => {
    const response = await fetch(`${pongProcess.url}/api/pong/v1/relay`, { method: 'POST', headers, body: JSON.stringify({ text: 'x'.repeat(501) }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'body.text' }] });
  });
});
