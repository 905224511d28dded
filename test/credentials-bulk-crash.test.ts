import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase } from '../src/kernel/index.js';
import { internalTokenFor, processStore, startSevaProcess, type ProcessStore, type SevaProcess } from './support/seva-process.js';
import { eventually } from './support/test-runtime.js';

// Runs on the embedded database by default, and on PostgreSQL (+ NATS) when the env names them.
let store: ProcessStore;
let server: SevaProcess | undefined;

beforeAll(async () => {
  store = await processStore('bulkcrash', { SEVA_ADMIN_PASSWORD: 'Bulk-crash-2026-pass' });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await store?.dispose();
});

const ROWS = 5000;

it('bulk import killed midway and resumed issues each row exactly once', async () => {
  server = await startSevaProcess(store.env);
  const token = await internalTokenFor(
    { kind: 'user', id: 'usr_test', tenantId: 'in', roles: [], permissions: ['credentials.*'] },
    'bulk-crash-test',
  );
  const headers = { 'x-seva-actor': token, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server!.url}/api/credentials/v1${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const type = await call('POST', '/types', {
    tenantId: 'in',
    code: 'vaccination',
    name: 'Vaccination',
    vcType: 'VaccinationCertificate',
    claimsSchema: { type: 'object', required: ['name', 'dose'], properties: { name: { type: 'string' }, dose: { type: 'integer' } } },
  });
  expect(type.status, JSON.stringify(type.body)).toBe(201);
  const csv = ['sourceRef,name,dose', ...Array.from({ length: ROWS }, (_, i) => `K-${i},Person ${i},1`)].join('\n');
  // Small batches, so the kill lands between many commits.
  const created = await call('POST', '/bulk-jobs', { tenantId: 'in', type: 'vaccination', csv, batchSize: 25 });
  expect(created.status, JSON.stringify(created.body)).toBe(202);
  const jobId = created.body.id as string;

  const midway = await eventually(async () => {
    const { status, body } = await call('GET', `/bulk-jobs/${jobId}`);
    expect(status, JSON.stringify(body)).toBe(200);
    return body.counts.processed >= 200 ? body : undefined;
  }, 'the job to be under way');
  await server.kill();
  expect(midway.counts.processed).toBeLessThan(ROWS);

  // The restarted process sends the unfinished job again (at start) and it goes on.
  server = await startSevaProcess(store.env);
  const { body: atRestart } = await call('GET', `/bulk-jobs/${jobId}`);
  expect(atRestart.counts.processed).toBeGreaterThanOrEqual(midway.counts.processed);
  const done = await eventually(
    async () => {
      const { body } = await call('GET', `/bulk-jobs/${jobId}`);
      return body.status === 'completed' ? body : undefined;
    },
    'the resumed job to complete',
    120_000,
  );
  // Every row issued once: none counted twice, none found already issued (which would mean a
  // row was attempted again after its credential committed), none lost.
  expect(done.counts).toMatchObject({ valid: ROWS, processed: ROWS, pending: 0, issued: ROWS, existing: 0, failed: 0 });

  // What the database holds agrees: one credential and one issued event per row, every
  // credential named by exactly one batch's audit entry, and one status position per credential
  // (positions are reserved before a batch's transaction: the killed batch's stay unused zeros).
  expect(await server.stop()).toBe(0);
  server = undefined;
  const database = await openDatabase(store.database);
  try {
    const one = async (text: string, params: unknown[] = []) => (await database.executeSql(text, params)).rows[0] as Record<string, unknown>;
    expect(await one(`select count(*)::int as n, count(distinct source_ref)::int as sources from credentials.credentials where bulk_job_id = $1`, [jobId])).toEqual({ n: ROWS, sources: ROWS });
    expect(await one(`select count(*)::int as n, count(distinct payload->>'id')::int as ids from kernel.outbox where name = 'credentials.credential.issued' and payload->>'bulkJob' = $1`, [jobId])).toEqual({ n: ROWS, ids: ROWS });
    const audited = await database.executeSql(`select data from kernel.audit_log where action = 'credentials.bulk.batch_issued' and entity_id = $1`, [jobId]);
    const named = audited.rows.flatMap((r) => (typeof r.data === 'string' ? JSON.parse(r.data) : r.data).issued as string[]);
    expect(named.length).toBe(ROWS);
    expect(new Set(named).size).toBe(ROWS);
    expect(await one(`select count(distinct status_index)::int as n from credentials.credentials where tenant_id = 'in'`)).toEqual({ n: ROWS });
    const reserved = Number((await one(`select next_index as n from credentials.status_allocations where tenant_id = 'in'`)).n);
    expect(reserved).toBeGreaterThanOrEqual(ROWS);
    // At most the batches in flight when the process was killed (one committing, one signed).
    expect(reserved - ROWS).toBeLessThanOrEqual(2 * 25);
    expect(await one(`select count(*)::int as n from credentials.bulk_rows where job_id = $1 and status = 'issued'`, [jobId])).toEqual({ n: ROWS });
  } finally {
    await database.close();
  }
}, 300_000);
