import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { InternalTokens } from '../src/kernel/modules/internal-token.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from './support/test-database.js';
import { startSevaProcess, type SevaProcess } from './support/seva-process.js';
import { deleteStream, eventually, TEST_MASTER_KEY } from './support/test-runtime.js';

// Runs on the embedded database by default, and on PostgreSQL (+ NATS) when the env names them.
const namespace = `cr${randomBytes(4).toString('hex')}`;
let env: Record<string, string>;
let dataDir: string | undefined;
let dbUrl: string | undefined;
let server: SevaProcess | undefined;

beforeAll(async () => {
  dbUrl = await createFreshPostgresDatabase();
  dataDir = dbUrl ? undefined : mkdtempSync(join(tmpdir(), 'seva-crash-'));
  env = {
    SEVA_MASTER_KEY: TEST_MASTER_KEY,
    SEVA_EVENTS_NAMESPACE: namespace,
    ...(dbUrl ? { DATABASE_URL: dbUrl } : { SEVA_DATA_DIR: dataDir! }),
    ...(process.env.NATS_URL ? { NATS_URL: process.env.NATS_URL } : {}),
  };
}, 60_000);

afterAll(async () => {
  await server?.stop();
  if (dbUrl) await dropPostgresDatabase(dbUrl);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (process.env.NATS_URL) await deleteStream(process.env.NATS_URL, namespace);
});

it('a process killed mid-batch loses no acknowledged write and delivers every committed event after restart', async () => {
  server = await startSevaProcess(env);
  const token = await new InternalTokens(Buffer.from(TEST_MASTER_KEY, 'base64')).sign(
    { kind: 'user', id: 'usr_test', tenantId: 'in', roles: [], permissions: ['ping.note.create'] },
    'crash-test',
  );
  const headers = { 'x-seva-actor': token, 'content-type': 'application/json' };

  // Eight writers hammer the process; it is killed with SIGKILL while they are mid-flight.
  const acknowledged: string[] = [];
  let next = 0;
  let killed = false;
  const writer = async () => {
    while (!killed) {
      const id = `n${String(next++).padStart(6, '0')}`;
      try {
        const res = await fetch(`${server!.url}/api/ping/v1/notes`, { method: 'POST', headers, body: JSON.stringify({ id, text: `write ${id}` }) });
        if (res.status === 201) acknowledged.push(id);
      } catch {
        return; // the connection died with the process
      }
    }
  };
  const writers = Array.from({ length: 8 }, writer);
  await eventually(async () => acknowledged.length >= 150, '150 acknowledged writes');
  killed = true;
  await server.kill();
  await Promise.all(writers);
  const attempted = next;

  server = await startSevaProcess(env);
  const { ids } = (await (await fetch(`${server.url}/api/ping/v1/note-ids`)).json()) as { ids: string[] };
  const stored = new Set(ids);
  expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
  expect(ids.length).toBeGreaterThanOrEqual(acknowledged.length);
  expect(ids.length).toBeLessThanOrEqual(attempted);

  // Every committed note's event reaches the consumer exactly once, including those whose
  // delivery the kill interrupted.
  const seen = await eventually(async () => {
    const body = (await (await fetch(`${server!.url}/api/pong/v1/seen`)).json()) as { items: Array<{ noteId: string }> };
    return body.items.length >= ids.length ? body.items : undefined;
  }, 'delivery of every committed event', 60_000);
  const seenIds = seen.map((i) => i.noteId).sort();
  expect(seenIds).toEqual([...ids].sort());
}, 240_000);
