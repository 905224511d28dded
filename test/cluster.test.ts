import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { internalTokenFor, processStore, startSevaProcess, type ProcessStore, type SevaProcess } from './support/seva-process.js';
import { eventually } from './support/test-runtime.js';

const shared = process.env.DATABASE_URL && process.env.NATS_URL;

/** The pids of a process's children (Linux): the primary's server processes. */
function children(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** One request on a connection of its own, so the primary hands it to the next process in turn. */
function postOnNewConnection(url: string, headers: Record<string, string>, body: object): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, headers: { ...headers, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe.skipIf(!shared)('SEVA_PROCESSES=2 on PostgreSQL and NATS', () => {
  let store: ProcessStore;
  let seva: SevaProcess;
  let headers: Record<string, string>;
  let pids: number[];
  const servedBy = async (requests: number) => {
    const seen = new Set<number>();
    for (let i = 0; i < requests; i++) {
      const res = await postOnNewConnection(`${seva.url}/api/ping/v1/notes`, headers, { text: `note ${i}` });
      expect(res.status).toBe(201);
      seen.add(res.body.servedBy);
    }
    return seen;
  };

  beforeAll(async () => {
    store = await processStore('cluster', { SEVA_PROCESSES: '2' });
    seva = await startSevaProcess(store.env, 120_000);
    headers = { 'x-seva-actor': await internalTokenFor({ kind: 'user', id: 'usr_test', tenantId: 'in', roles: [], permissions: ['ping.note.create'] }, 'cluster-test') };
    // The banner is printed once, by the primary, when both serve.
    await eventually(async () => /processes: 2 \(pids \d+, \d+\)/.exec(seva.output()), 'the banner naming both processes');
    pids = /processes: 2 \(pids (\d+), (\d+)\)/.exec(seva.output())!.slice(1).map(Number);
  }, 180_000);

  afterAll(async () => {
    await seva?.kill();
    await store?.dispose();
  });

  it('runs two server processes under one primary, and both serve the one port', async () => {
    expect(children(seva.pid)).toEqual(expect.arrayContaining(pids));
    expect(seva.output().match(/Seva is ready at/g)).toHaveLength(1);
    expect([...(await servedBy(8))].sort()).toEqual([...pids].sort());
  });

  it('replaces a server process that dies, and keeps serving meanwhile', async () => {
    process.kill(pids[0]!, 'SIGKILL');
    const replacement = await eventually(async () => children(seva.pid).find((pid) => !pids.includes(pid)), 'a replacement process', 20_000);
    // Until the replacement listens, the primary hands every connection to the survivor.
    await eventually(async () => ((await servedBy(4)).has(replacement) ? true : undefined), 'the replacement serving', 20_000);
    expect(children(seva.pid)).not.toContain(pids[0]);
    expect(seva.output()).toMatch(/a server process exited; starting another/);
  }, 60_000);

  it('stops every process on SIGTERM and exits 0', async () => {
    const running = children(seva.pid);
    expect(await seva.stop()).toBe(0);
    for (const pid of running) expect(() => process.kill(pid, 0)).toThrow();
  }, 60_000);
});
