import { afterAll, beforeAll, expect, it } from 'vitest';
import { internalTokenFor, processStore, startSevaProcess, type ProcessStore, type SevaProcess } from './support/seva-process.js';
import { eventually } from './support/test-runtime.js';

// Runs on the embedded database by default, and on PostgreSQL (+ NATS) when the env names them.
let store: ProcessStore;
let server: SevaProcess | undefined;

beforeAll(async () => {
  store = await processStore('crash');
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await store?.dispose();
});

it('a process killed mid-batch loses no acknowledged write and delivers every committed event after restart', async () => {
  server = await startSevaProcess(store.env);
  const token = await internalTokenFor(
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

  server = await startSevaProcess(store.env);
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
