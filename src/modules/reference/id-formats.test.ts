import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineModule, defineOperation, z } from '../../kernel/index.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from '../../../test/support/test-database.js';
import { startSevaProcess, type SevaProcess } from '../../../test/support/seva-process.js';
import { eventually, startTestRuntime, TEST_MASTER_KEY, type TestRuntime } from '../../../test/support/test-runtime.js';
import { referenceModuleWith } from './index.js';

const API = '/api/reference/v1';
let now = new Date('2026-03-31T23:59:00Z');
const clock = () => now;

/** Another module that numbers what it issues through reference, in process. */
const licensing = defineModule({
  name: 'licensing',
  dependsOn: ['reference'],
  operations: {
    issue: defineOperation({
      summary: 'Issue a licence number',
      permission: 'licensing.issue',
      input: z.object({ tenantId: z.string() }),
      output: z.object({ number: z.string() }),
      async handler(ctx, input) {
        const { ids } = await ctx.call<{ ids: string[] }>('reference', 'generateIds', { tenantId: input.tenantId, format: 'tl.licence' });
        return { number: ids[0]! };
      },
    }),
  },
});

// The sequences must survive a restart: PGlite in a folder, or one PostgreSQL database kept for the file.
let folder: string | undefined;
let sharedUrl: string | undefined;
let t: TestRuntime;
let admin: Record<string, string>;

const boot = () =>
  startTestRuntime([referenceModuleWith({ clock }), licensing], sharedUrl ? { databaseUrl: sharedUrl, databasePoolSize: 10 } : { dataDir: folder! });

beforeAll(async () => {
  sharedUrl = await createFreshPostgresDatabase();
  if (!sharedUrl) folder = mkdtempSync(join(tmpdir(), 'seva-idgen-'));
  t = await boot();
  admin = await t.as({ permissions: ['reference.*', 'licensing.issue'], tenantId: 'in' });
});
afterAll(async () => {
  await t?.close();
  if (sharedUrl) await dropPostgresDatabase(sharedUrl);
  if (folder) rmSync(folder, { recursive: true, force: true });
});

const inject = (options: InjectOptions) => t.runtime.http.inject(options);
const define = (payload: object) => inject({ method: 'POST', url: `${API}/id-formats`, headers: admin, payload });
async function generate(format: string, tenantId: string, count = 1): Promise<string[]> {
  const res = await inject({ method: 'POST', url: `${API}/id-formats/${format}/generate`, headers: admin, payload: { tenantId, count } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().ids;
}
const seqOf = (id: string) => Number(id.slice(id.lastIndexOf('-') + 1));

describe('ID formats', () => {
  it('numbers per tenant and rolls over with the financial year (31 March 23:59 → 1 April)', async () => {
    expect((await define({ tenantId: 'in', code: 'tl.licence', template: 'TL-[city]-[fy:yyyy-yy]-[seq:6]' })).statusCode).toBe(201);
    expect(await generate('tl.licence', 'in.ka.bengaluru')).toEqual(['TL-BENGALURU-2025-26-000001']);
    expect(await generate('tl.licence', 'in.ka.bengaluru', 3)).toEqual(['TL-BENGALURU-2025-26-000002', 'TL-BENGALURU-2025-26-000003', 'TL-BENGALURU-2025-26-000004']);
    expect(await generate('tl.licence', 'in.ka.mysuru')).toEqual(['TL-MYSURU-2025-26-000001']);
    now = new Date('2026-04-01T00:00:00Z');
    expect(await generate('tl.licence', 'in.ka.bengaluru')).toEqual(['TL-BENGALURU-2026-27-000001']);
    // A late caller still in the old year continues that year's numbers; nothing repeats.
    now = new Date('2026-03-31T23:59:59Z');
    expect(await generate('tl.licence', 'in.ka.bengaluru')).toEqual(['TL-BENGALURU-2025-26-000005']);
  });

  it('turns the year at midnight of the format’s time zone and start month', async () => {
    expect((await define({ tenantId: 'in', code: 'tl.kolkata', template: 'K-[fy:yy-yy]-[seq:4]', timeZone: 'Asia/Kolkata' })).statusCode).toBe(201);
    now = new Date('2026-03-31T18:29:00Z'); // 23:59 in India
    expect(await generate('tl.kolkata', 'in.ka')).toEqual(['K-25-26-0001']);
    now = new Date('2026-03-31T18:30:00Z'); // 00:00 on 1 April in India
    expect(await generate('tl.kolkata', 'in.ka')).toEqual(['K-26-27-0001']);
    expect((await define({ tenantId: 'in', code: 'fin.july', template: 'J[fy:yyyy]/[seq:3]', fyStartMonth: 7 })).statusCode).toBe(201);
    now = new Date('2026-06-30T12:00:00Z');
    expect(await generate('fin.july', 'in')).toEqual(['J2025/001']);
    now = new Date('2026-07-01T00:00:00Z');
    expect(await generate('fin.july', 'in')).toEqual(['J2026/001']);
    expect((await define({ tenantId: 'in', code: 'pb.birth', template: 'PB-[cy:yyyy]-[seq:5]' })).statusCode).toBe(201);
    now = new Date('2026-12-31T23:59:59Z');
    expect(await generate('pb.birth', 'in')).toEqual(['PB-2026-00001']);
    now = new Date('2027-01-01T00:00:00Z');
    expect(await generate('pb.birth', 'in')).toEqual(['PB-2027-00001']);
  });

  it('refuses a malformed template with 400 naming the field and the position', async () => {
    const cases: Array<[string, string]> = [
      ['TL-[fyy:yyyy]-[seq:6]', 'position 4: [fyy:yyyy]: unknown token'],
      ['TL-[seq:6', 'position 4: "[" is not closed'],
      ['TL-[seq:0]', 'position 4: [seq:0]: the width must be'],
      ['TL-[fy:yyy]-[seq:6]', 'position 4: [fy:yyy]: use a financial-year pattern'],
      ['TL-[city]', 'needs one [seq:N]'],
      ['TL-[seq:3]-[seq:4]', 'only one [seq:N]'],
      ['TL-%-[seq:4]', 'position 4: "%" is not allowed'],
    ];
    for (const [template, message] of cases) {
      const res = await define({ tenantId: 'in', code: 'tl.bad', template });
      expect(res.statusCode, template).toBe(400);
      expect(res.json().code).toBe('ID_TEMPLATE_INVALID');
      expect(res.json().errors[0].path).toBe('body.template');
      expect(res.json().errors[0].message).toContain(message);
    }
    expect((await define({ tenantId: 'in', code: 'tl.licence', template: '[seq:8]' })).json().code).toBe('ID_FORMAT_EXISTS');
    const unknown = await inject({ method: 'POST', url: `${API}/id-formats/tl.nothing/generate`, headers: admin, payload: { tenantId: 'in' } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('ID_FORMAT_NOT_FOUND');
    const tooMany = await inject({ method: 'POST', url: `${API}/id-formats/tl.licence/generate`, headers: admin, payload: { tenantId: 'in', count: 1001 } });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().errors[0].path).toBe('body.count');
  });

  it('hands out each number once to many concurrent callers, in batches and one at a time', async () => {
    expect((await define({ tenantId: 'in', code: 'load.test', template: '[seq:8]' })).statusCode).toBe(201);
    const calls = Array.from({ length: 60 }, (_, i) => generate('load.test', 'in.ka', i % 3 === 0 ? 25 : 1));
    const ids = (await Promise.all(calls)).flat();
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1));
    const batch = await generate('load.test', 'in.ka', 1000);
    expect(Number(batch[0])).toBe(ids.length + 1);
    expect(Number(batch[999])).toBe(ids.length + 1000);
  });

  it('is called by another module in process', async () => {
    now = new Date('2026-04-02T10:00:00Z');
    const ctx = t.runtime.contextFor('licensing', { kind: 'user', id: 'usr_clerk', tenantId: 'in.ka.bengaluru', roles: [], permissions: ['licensing.issue', 'reference.id.generate'] });
    const { number } = await ctx.call<{ number: string }>('licensing', 'issue', { tenantId: 'in.ka.bengaluru' });
    expect(number).toBe('TL-BENGALURU-2026-27-000002');
    const withoutPermission = t.runtime.contextFor('licensing', { kind: 'user', id: 'usr_x', tenantId: 'in', roles: [], permissions: ['licensing.issue'] });
    await expect(withoutPermission.call('licensing', 'issue', { tenantId: 'in' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('keeps counting after a restart', async () => {
    const before = seqOf((await generate('tl.licence', 'in.ka.bengaluru'))[0]!);
    await t.close();
    t = await boot();
    admin = await t.as({ permissions: ['reference.*'], tenantId: 'in' });
    expect(await generate('tl.licence', 'in.ka.bengaluru')).toEqual([`TL-BENGALURU-2026-27-${String(before + 1).padStart(6, '0')}`]);
    const listed = await inject({ url: `${API}/id-formats?tenant=in.ka.bengaluru`, headers: admin });
    expect(listed.json().items.map((f: { code: string }) => f.code)).toContain('tl.licence');
  });
});

// Two real processes on one PostgreSQL database (PGlite belongs to one process by design).
describe.skipIf(!process.env.DATABASE_URL)('two seva processes on one database', () => {
  let a: SevaProcess;
  let b: SevaProcess;
  let headers: Record<string, string>;
  const env = () => ({
    DATABASE_URL: sharedUrl!,
    SEVA_MASTER_KEY: TEST_MASTER_KEY,
    // The namespace of this file's runtime, which serves the same database: every process relays
    // the shared outbox, and one relaying under another namespace publishes where these do not
    // listen (the change event of the last test then never reached process b).
    SEVA_EVENTS_NAMESPACE: t.runtime.config.eventsNamespace,
    SEVA_MODULES: 'reference',
    ...(process.env.NATS_URL ? { NATS_URL: process.env.NATS_URL } : {}),
  });

  beforeAll(async () => {
    [a, b] = await Promise.all([startSevaProcess(env()), startSevaProcess(env())]);
    headers = { ...(await t.as({ permissions: ['reference.*'], tenantId: 'in' })), 'content-type': 'application/json' };
  }, 180_000);
  // The stream is the runtime's, deleted when it closes.
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const call = async (proc: SevaProcess, method: string, path: string, body?: object) => {
    const res = await fetch(`${proc.url}${API}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as any };
  };
  /** `total` single-ID calls, `parallel` in flight at a time. */
  async function hammer(proc: SevaProcess, total: number, parallel = 16): Promise<number[]> {
    const seen: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < total) {
          next++;
          const res = await call(proc, 'POST', '/id-formats/mp.seq/generate', { tenantId: 'in.ka' });
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          seen.push(Number(res.body.ids[0]));
        }
      }),
    );
    return seen;
  }

  it('never gives the same number to two processes allocating at once', async () => {
    expect((await call(a, 'POST', '/id-formats', { tenantId: 'in', code: 'mp.seq', template: '[seq:8]' })).status).toBe(201);
    const [fromA, fromB] = await Promise.all([hammer(a, 500), hammer(b, 500)]);
    expect(new Set(fromA).size).toBe(500);
    expect(new Set(fromB).size).toBe(500);
    const all = [...fromA, ...fromB].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    // The two really ran at once: their numbers interleave.
    expect(fromA.some((n) => n > Math.min(...fromB))).toBe(true);
  });

  it('continues after a process restarts', async () => {
    await a.stop();
    a = await startSevaProcess(env());
    const res = await call(a, 'POST', '/id-formats/mp.seq/generate', { tenantId: 'in.ka', count: 2 });
    expect(res.body.ids).toEqual(['00001001', '00001002']);
  }, 120_000);

  it.skipIf(!process.env.NATS_URL)('drops a cached lookup in the other process when the data changes', async () => {
    expect((await call(a, 'POST', '/masterdata/schemas', { tenantId: 'in', code: 'mp.fee', definition: { type: 'object', properties: { amount: { type: 'integer' } } } })).status).toBe(201);
    expect((await call(a, 'POST', '/masterdata/schemas/mp.fee/records', { tenantId: 'in', key: 'A', data: { amount: 1 } })).status).toBe(201);
    const read = async () => (await call(b, 'GET', '/masterdata/schemas/mp.fee/records/A?tenant=in.ka')).body.data?.amount;
    expect(await read()).toBe(1);
    expect(await read()).toBe(1); // now cached in b
    expect((await call(a, 'PUT', '/masterdata/schemas/mp.fee/records/A', { tenantId: 'in', version: 1, data: { amount: 2 } })).status).toBe(200);
    await eventually(async () => (await read()) === 2, 'process b to see the change');
  });
});
