import { PGlite } from '@electric-sql/pglite';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineModule, defineOperation, KernelErrors, loadConfig, startRuntime, z, type Runtime } from '../../kernel/index.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from '../../../test/support/test-database.js';
import { deleteStream, startTestRuntime, TEST_MASTER_KEY, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from '../identity/index.js';
import { credentialsModuleWith } from './index.js';

/**
 * What the in-memory keys, status lists and status positions promise (see `state.ts`): a change
 * made in this process is seen at once, a change made elsewhere within the cache's time to live
 * even when its event never arrives, and status positions are never handed out twice.
 */
const API = '/api/credentials/v1';
const TTL_MS = 600;
const claims = { name: 'Asha Rao', dose: 1 };
const type = (tenantId: string) => ({
  tenantId,
  code: 'vaccination',
  name: 'Vaccination',
  vcType: 'VaccinationCertificate',
  claimsSchema: { type: 'object', required: ['name', 'dose'], properties: { name: { type: 'string' }, dose: { type: 'integer' } } },
});

function client(runtime: Runtime, headers: Record<string, string>) {
  const send = async (method: 'GET' | 'POST', path: string, payload?: unknown) => {
    const res = await runtime.http.inject({ method, url: API + path, headers, ...(payload ? { payload: payload as object } : {}) });
    return { status: res.statusCode, body: res.json() };
  };
  return {
    post: (path: string, payload: unknown) => send('POST', path, payload),
    get: (path: string) => send('GET', path),
    issue: async (tenantId: string, sourceRef: string) => {
      const res = await send('POST', '/credentials', { tenantId, type: 'vaccination', sourceRef, claims });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body;
    },
    verify: async (credential: unknown) => {
      const res = await send('POST', '/verify', { credential });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as { verified: boolean; status: string; problems: Array<{ check: string; message: string }> };
    },
  };
}

/** Another module that issues a credential inside its own transaction (an in-process call joins it). */
const certifier = defineModule({
  name: 'certifier',
  dependsOn: ['credentials'],
  operations: {
    certify: defineOperation({
      summary: 'Issue a credential inside this module’s transaction, and fail after it when asked',
      permission: 'certifier.certify',
      http: { method: 'POST', path: '/certify' },
      input: z.object({ tenantId: z.string(), sourceRef: z.string(), fail: z.boolean() }),
      output: z.object({ id: z.string() }),
      handler: (ctx, input) =>
        ctx.transaction(async () => {
          const issued = await ctx.call<{ id: string }>('credentials', 'issue', { tenantId: input.tenantId, type: 'vaccination', sourceRef: input.sourceRef, claims });
          if (input.fail) throw KernelErrors.conflict('failed after issuing, on purpose');
          return { id: issued.id };
        }),
    }),
  },
});

/** Polls until `probe` holds; answers how long it took (ms). */
async function within(limitMs: number, what: string, probe: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > limitMs) throw new Error(`${what}: not seen within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - started;
}

describe('one process', () => {
  let t: TestRuntime;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    t = await startTestRuntime([identityModule, credentialsModuleWith({ cacheTtlMs: TTL_MS, statusBlock: 7 }), certifier]);
    api = client(t.runtime, await t.as({ tenantId: 'in', permissions: ['credentials.*', 'certifier.certify'] }));
    for (const tenant of ['in.ka', 'in.tn', 'in.kl', 'in.up']) expect((await api.post('/types', type(tenant))).status).toBe(201);
  }, 60_000);
  afterAll(() => t?.close());

  const sql = async (text: string, params: unknown[] = []) => (await t.runtime.database.executeSql(text, params)).rows;

  it('sees its own rotation and retirement at once, with the keys already cached', async () => {
    const before = await api.issue('in.ka', 'rot-1');
    expect((await api.verify(before.credential)).verified).toBe(true); // keys and status lists now cached
    const rotated = (await api.post('/keys/rotate', { tenantId: 'in.ka' })).body;
    const after = await api.issue('in.ka', 'rot-2');
    expect(after.credential.proof.verificationMethod.endsWith(`#${rotated.kid}`)).toBe(true);
    expect(await api.verify(after.credential)).toMatchObject({ verified: true, status: 'active' });
    expect(await api.verify(before.credential)).toMatchObject({ verified: true, status: 'active' });
    expect((await api.post(`/keys/${rotated.rotated}/retire`, { tenantId: 'in.ka' })).status).toBe(200);
    expect(await api.verify(before.credential)).toMatchObject({ verified: false, problems: [{ check: 'issuer' }] });
    // The status lists were signed again by the active key: a credential of the new key still verifies.
    expect(await api.verify(after.credential)).toMatchObject({ verified: true, status: 'active' });
  });

  it('trusts an issuer’s first key at once, though it had cached that the issuer had none', async () => {
    const forged = structuredClone((await api.issue('in.ka', 'first-0')).credential);
    forged.issuer = forged.issuer.replace(/in\.ka$/, 'in.tn');
    forged.proof.verificationMethod = `${forged.issuer}#vkey_unknown`;
    expect(await api.verify(forged)).toMatchObject({ verified: false, problems: expect.arrayContaining([{ check: 'issuer', message: expect.stringContaining('not in the trust list') }]) });
    const first = await api.issue('in.tn', 'first-1');
    expect(await api.verify(first.credential)).toMatchObject({ verified: true, status: 'active' });
    expect(await sql(`select action from kernel.audit_log where action = 'credentials.key.created' and tenant_id = 'in.tn'`)).toHaveLength(1);
  });

  it('says revoked and suspended at once after its own status change', async () => {
    const { id, credential } = await api.issue('in.ka', 'rev-1');
    expect((await api.verify(credential)).status).toBe('active');
    await api.post(`/credentials/${id}/suspend`, { reason: 'check' });
    expect(await api.verify(credential)).toMatchObject({ verified: false, status: 'suspended' });
    await api.post(`/credentials/${id}/reinstate`, { reason: 'ok' });
    expect(await api.verify(credential)).toMatchObject({ verified: true, status: 'active' });
    await api.post(`/credentials/${id}/revoke`, { reason: 'error' });
    expect(await api.verify(credential)).toMatchObject({ verified: false, status: 'revoked' });
  });

  it('sees a revocation and a retirement made elsewhere (no event reaches it) within the cache’s time to live', async () => {
    const { id, credential } = await api.issue('in.kl', 'far-1');
    const old = await api.issue('in.kl', 'far-2');
    expect((await api.verify(credential)).status).toBe('active');
    // What another process's revocation leaves in the database; its event never comes here.
    await sql(`update credentials.credentials set status = 'revoked', status_changed_at = now() where id = $1`, [id]);
    const revokedAfter = await within(TTL_MS + 1500, 'the revocation', async () => (await api.verify(credential)).status === 'revoked');
    expect(revokedAfter).toBeLessThanOrEqual(TTL_MS + 1500);

    await api.post('/keys/rotate', { tenantId: 'in.kl' });
    expect((await api.verify(old.credential)).verified).toBe(true);
    await sql(`update credentials.signing_keys set status = 'retired', retired_at = now() where tenant_id = 'in.kl' and status = 'rotated'`);
    await within(TTL_MS + 1500, 'the retirement', async () => (await api.verify(old.credential)).verified === false);
  });

  it('issuing inside another module’s transaction keeps nothing in memory and rolls back whole with it, first key and position included', async () => {
    const certify = async (sourceRef: string, fail: boolean) => {
      const res = await t.runtime.http.inject({ method: 'POST', url: '/api/certifier/v1/certify', headers: await t.as({ tenantId: 'in', permissions: ['credentials.*', 'certifier.certify'] }), payload: { tenantId: 'in.up', sourceRef, fail } });
      return { status: res.statusCode, body: res.json() };
    };
    expect((await certify('tx-1', true)).status).toBe(409);
    expect(await sql(`select 1 from credentials.credentials where tenant_id = 'in.up'`)).toHaveLength(0);
    expect(await sql(`select 1 from credentials.signing_keys where tenant_id = 'in.up'`)).toHaveLength(0);
    expect(await sql(`select 1 from credentials.status_allocations where tenant_id = 'in.up'`)).toHaveLength(0);
    const kept = await certify('tx-2', false);
    expect(kept.status, JSON.stringify(kept.body)).toBe(201);
    const [row] = await sql(`select document from credentials.credentials where id = $1`, [kept.body.id]);
    const document = typeof row.document === 'string' ? JSON.parse(row.document) : row.document;
    expect(await api.verify(document)).toMatchObject({ verified: true, status: 'active' });
    const after = await api.issue('in.up', 'tx-3');
    expect(after.credential.proof.verificationMethod).toBe(document.proof.verificationMethod);
    const positions = await sql(`select status_index from credentials.credentials where tenant_id = 'in.up'`);
    expect(new Set(positions.map((p) => p.status_index)).size).toBe(2);
  });

  it('hands out each status position once under concurrent issuance, refilling its block as needed', async () => {
    const issued = await Promise.all(Array.from({ length: 120 }, (_, i) => api.issue('in.ka', `conc-${i}`)));
    const ids = issued.map((c) => c.id);
    const rows = await sql(`select status_index from credentials.credentials where id = any($1)`, [ids]);
    expect(rows).toHaveLength(120);
    expect(new Set(rows.map((r) => r.status_index)).size).toBe(120);
    const [reserved] = await sql(`select next_index from credentials.status_allocations where tenant_id = 'in.ka'`);
    // Blocks of 7: everything issued in this tenant so far fits in what was reserved, with less than a block spare.
    const [used] = await sql(`select count(*)::int as n from credentials.credentials where tenant_id = 'in.ka'`);
    expect(Number(reserved.next_index)).toBeGreaterThanOrEqual(used.n);
    for (const c of issued.slice(0, 10)) expect((await api.verify(c.credential)).verified).toBe(true);
  });

  it('goes on through a rotation in the middle of a bulk job: each row issued once, by the key active when its batch committed', async () => {
    const rows = 300;
    const csv = ['sourceRef,name,dose', ...Array.from({ length: rows }, (_, i) => `bulk-rot-${i},Person ${i},1`)].join('\n');
    const job = (await api.post('/bulk-jobs', { tenantId: 'in.ka', type: 'vaccination', csv, batchSize: 10 })).body;
    await within(60_000, 'the job under way', async () => (await api.get(`/bulk-jobs/${job.id}`)).body.counts.processed >= 30);
    const rotated = (await api.post('/keys/rotate', { tenantId: 'in.ka' })).body;
    await within(120_000, 'the job done', async () => (await api.get(`/bulk-jobs/${job.id}`)).body.status === 'completed');
    expect((await api.get(`/bulk-jobs/${job.id}`)).body.counts).toMatchObject({ processed: rows, issued: rows, existing: 0, failed: 0 });
    const issued = await sql(`select kid, document, status_index from credentials.credentials where bulk_job_id = $1`, [job.id]);
    expect(issued).toHaveLength(rows);
    expect(new Set(issued.map((r) => r.status_index)).size).toBe(rows);
    const kids = new Set(issued.map((r) => r.kid));
    expect(kids).toEqual(new Set([rotated.rotated, rotated.kid]));
    for (const row of issued) {
      const document = typeof row.document === 'string' ? JSON.parse(row.document) : row.document;
      expect(document.proof.verificationMethod.endsWith(`#${row.kid}`)).toBe(true);
    }
    for (const row of [...issued].sort((a, b) => (a.kid === b.kid ? 0 : a.kid === rotated.kid ? 1 : -1)).filter((_, i) => i % 30 === 0)) {
      expect((await api.verify(typeof row.document === 'string' ? JSON.parse(row.document) : row.document)).verified).toBe(true);
    }
  }, 180_000);
});

describe('a process restarted on the same database', () => {
  it('reserves a new block after the positions the stopped process left unused: the gap is harmless', async () => {
    const url = await createFreshPostgresDatabase();
    const pglite = url ? undefined : new PGlite();
    const start = () => startTestRuntime([identityModule, credentialsModuleWith({ statusBlock: 50 })], url ? { databaseUrl: url, databasePoolSize: 3 } : {}, false, pglite);
    let t = await start();
    try {
      let api = client(t.runtime, await t.as({ tenantId: 'in', permissions: ['credentials.*'] }));
      expect((await api.post('/types', type('in.ka'))).status).toBe(201);
      const first = await api.issue('in.ka', 'gap-1');
      await t.close();
      t = await start();
      api = client(t.runtime, await t.as({ tenantId: 'in', permissions: ['credentials.*'] }));
      const second = await api.issue('in.ka', 'gap-2');
      const rows = await t.runtime.database.executeSql(`select source_ref, status_index from credentials.credentials order by source_ref`);
      expect(rows.rows.map((r) => r.source_ref)).toEqual(['gap-1', 'gap-2']);
      const { rows: alloc } = await t.runtime.database.executeSql(`select next_index from credentials.status_allocations`);
      expect(Number(alloc[0].next_index)).toBe(100); // two blocks: 49 positions of the first never used
      await api.post(`/credentials/${second.id}/revoke`, { reason: 'test' });
      expect(await api.verify(second.credential)).toMatchObject({ status: 'revoked' });
      expect(await api.verify(first.credential)).toMatchObject({ verified: true, status: 'active' });
    } finally {
      await t.close();
      await pglite?.close();
      if (url) await dropPostgresDatabase(url);
    }
  }, 60_000);
});

// Two processes need a server database and a broker (PGlite belongs to one process).
describe.skipIf(!(process.env.DATABASE_URL && process.env.NATS_URL))('two processes on one PostgreSQL and NATS', () => {
  const namespace = `cc${randomBytes(4).toString('hex')}`;
  let url: string;
  const runtimes: Runtime[] = [];
  let a: ReturnType<typeof client>;
  let b: ReturnType<typeof client>;

  beforeAll(async () => {
    url = (await createFreshPostgresDatabase())!;
    for (let i = 0; i < 2; i++) {
      const config = loadConfig({
        env: {},
        overrides: { dataDir: 'memory://', logLevel: 'warn', masterKey: TEST_MASTER_KEY, eventsNamespace: namespace, databaseUrl: url, databasePoolSize: 4, natsUrl: process.env.NATS_URL! },
      });
      // A long time to live: what these tests see comes from the events or the key-miss reload.
      runtimes.push(await startRuntime({ config, catalog: [identityModule, credentialsModuleWith({ cacheTtlMs: 120_000, statusBlock: 5 })], listen: false }));
    }
    const actor = { kind: 'user' as const, id: 'usr_test', tenantId: 'in', roles: [], permissions: ['credentials.*'] };
    a = client(runtimes[0]!, { 'x-seva-actor': await runtimes[0]!.internalToken(actor) });
    b = client(runtimes[1]!, { 'x-seva-actor': await runtimes[1]!.internalToken(actor) });
    for (const tenant of ['in.ka', 'in.tn']) expect((await a.post('/types', type(tenant))).status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    for (const r of runtimes) await r.stop();
    if (url) await dropPostgresDatabase(url);
    await deleteStream(process.env.NATS_URL!, namespace);
  });

  it('trusts at once a first key made in the other process, after caching that there was none', async () => {
    const forged = structuredClone((await a.issue('in.ka', 'x-0')).credential);
    forged.issuer = forged.issuer.replace(/in\.ka$/, 'in.tn');
    forged.proof.verificationMethod = `${forged.issuer}#vkey_unknown`;
    expect((await b.verify(forged)).verified).toBe(false); // b now holds in.tn as keyless
    await new Promise((r) => setTimeout(r, 1100)); // past the key-miss reload's once-a-second limit
    const first = await a.issue('in.tn', 'x-1');
    expect(await b.verify(first.credential)).toMatchObject({ verified: true, status: 'active' });
  });

  it('hears the other process’s revocation and retirement through the events, long before the time to live', async () => {
    const { id, credential } = await a.issue('in.ka', 'y-1');
    expect((await b.verify(credential)).status).toBe('active');
    expect((await a.post(`/credentials/${id}/revoke`, { reason: 'error' })).status).toBe(200);
    await within(5_000, 'the revocation in the other process', async () => (await b.verify(credential)).status === 'revoked');

    const old = await a.issue('in.ka', 'y-2');
    const rotated = (await a.post('/keys/rotate', { tenantId: 'in.ka' })).body;
    // b signs with the new key at once: its cached key is refused by the insert, read again, used.
    const fresh = await b.issue('in.ka', 'y-3');
    expect(fresh.credential.proof.verificationMethod.endsWith(`#${rotated.kid}`)).toBe(true);
    expect((await b.verify(old.credential)).verified).toBe(true);
    expect((await a.post(`/keys/${rotated.rotated}/retire`, { tenantId: 'in.ka' })).status).toBe(200);
    await within(5_000, 'the retirement in the other process', async () => (await b.verify(old.credential)).verified === false);
    expect((await b.verify(fresh.credential)).verified).toBe(true);
  });

  it('never gives two credentials one status position when both processes issue at once', async () => {
    const issued = await Promise.all(Array.from({ length: 80 }, (_, i) => (i % 2 === 0 ? a : b).issue('in.ka', `z-${i}`)));
    const { rows } = await runtimes[0]!.database.executeSql(`select status_index from credentials.credentials where tenant_id = 'in.ka'`);
    expect(new Set(rows.map((r) => r.status_index)).size).toBe(rows.length);
    expect(issued.every((c) => c.created)).toBe(true);
    // The same source sent to both processes at once is issued once.
    const same = await Promise.all([a, b, a, b].map((api) => api.issue('in.ka', 'z-same')));
    expect(new Set(same.map((c) => c.id)).size).toBe(1);
    expect(same.filter((c) => c.created)).toHaveLength(1);
  });
});
