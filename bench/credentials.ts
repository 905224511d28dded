import { randomBytes } from 'node:crypto';
import { loadConfig, startRuntime, type Runtime } from '../src/kernel/index.js';
import { credentialsModuleWith } from '../src/modules/credentials/index.js';
import { identityModule } from '../src/modules/identity/index.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from '../test/support/test-database.js';
import { fmt, progress, row, type Row } from './lib/report.js';

const API_CREDENTIALS = 2_000;
const BULK_ROWS = 20_000;
const VERIFICATIONS = 6_000;
/** Verifications before the measured ones: compiled code and the cached keys and status lists in place. */
const VERIFY_WARMUP = 200;
const CONCURRENCY = 16;
const API = '/api/credentials/v1';

/**
 * Credentials issued per second through the API route (CONCURRENCY requests in flight, through
 * the whole gate: token, validation, signing, insert, event, audit), bulk CSV issuance per second
 * (one job, batches of 1,000), and verifications per second (`POST /verify`, a public route, called
 * without credentials as a verifier would; keys and status lists cached). In process (`inject`, no
 * socket), on PGlite and, with DATABASE_URL, on PostgreSQL.
 */
export async function credentialsBench(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const engine of process.env.DATABASE_URL ? (['PGlite', 'PostgreSQL'] as const) : (['PGlite'] as const)) {
    const url = engine === 'PostgreSQL' ? await createFreshPostgresDatabase() : undefined;
    let runtime: Runtime | undefined;
    try {
      const config = loadConfig({
        env: {},
        overrides: { logLevel: 'warn', masterKey: randomBytes(32).toString('base64'), dataDir: 'memory://', ...(url ? { databaseUrl: url, databasePoolSize: 10 } : {}) },
      });
      runtime = await startRuntime({ config, catalog: [identityModule, credentialsModuleWith()], listen: false });
      rows.push(...(await measure(runtime, engine)));
    } finally {
      await runtime?.stop();
      if (url) await dropPostgresDatabase(url);
    }
  }
  return rows;
}

async function inParallel(total: number, body: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) await body(next++);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

async function measure(runtime: Runtime, engine: string): Promise<Row[]> {
  // Internal tokens are short-lived: a fresh one every 20 s.
  let token = { value: '', at: 0 };
  const headers = async () => {
    if (Date.now() - token.at > 20_000) token = { value: await runtime.internalToken({ kind: 'user', id: 'usr_bench', tenantId: 'in', roles: [], permissions: ['credentials.*'] }), at: Date.now() };
    return { 'x-seva-actor': token.value };
  };
  const call = async (method: 'GET' | 'POST', path: string, payload?: object, anonymous = false) => {
    const res = await runtime.http.inject({ method, url: API + path, headers: anonymous ? {} : await headers(), ...(payload ? { payload } : {}) });
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  await call('POST', '/types', {
    tenantId: 'in',
    code: 'vaccination',
    name: 'Vaccination',
    vcType: 'VaccinationCertificate',
    validityDays: 365,
    claimsSchema: { type: 'object', required: ['name', 'dose'], properties: { name: { type: 'string' }, vaccine: { type: 'string' }, dose: { type: 'integer' } } },
  });
  await call('POST', '/credentials', { tenantId: 'in', type: 'vaccination', sourceRef: 'warm', claims: { name: 'Warm', dose: 1 } });

  progress(`credentials (${engine}): ${fmt(API_CREDENTIALS)} API issuances, ${CONCURRENCY} at once`);
  const issued: unknown[] = [];
  const apiRate = await inParallel(API_CREDENTIALS, async (i) => {
    const body = await call('POST', '/credentials', { tenantId: 'in', type: 'vaccination', sourceRef: `api-${i}`, subjectMobile: '9876543210', claims: { name: `Person ${i}`, vaccine: 'COVAXIN', dose: 1 } });
    if (i % 10 === 0) issued.push(body.credential);
  });

  progress(`credentials (${engine}): bulk job of ${fmt(BULK_ROWS)} rows`);
  const csv = ['sourceRef,name,vaccine,dose,mobile', ...Array.from({ length: BULK_ROWS }, (_, i) => `bulk-${i},Person ${i},COVAXIN,1,9876543210`)].join('\n');
  const started = performance.now();
  const job = await call('POST', '/bulk-jobs', { tenantId: 'in', type: 'vaccination', csv, batchSize: 1000 });
  let state = job;
  while (state.status !== 'completed' && state.status !== 'failed') {
    await new Promise((r) => setTimeout(r, 200));
    state = await call('GET', `/bulk-jobs/${job.id}`);
  }
  const wallRate = BULK_ROWS / ((performance.now() - started) / 1000);
  if (state.counts.issued !== BULK_ROWS) throw new Error(`bulk issued ${state.counts.issued} of ${BULK_ROWS}`);

  progress(`credentials (${engine}): ${fmt(VERIFICATIONS)} verifications, ${CONCURRENCY} at once`);
  for (let i = 0; i < VERIFY_WARMUP; i++) await call('POST', '/verify', { credential: issued[i % issued.length] }, true);
  const verifyRate = await inParallel(VERIFICATIONS, async (i) => {
    const result = await call('POST', '/verify', { credential: issued[i % issued.length] }, true);
    if (!result.verified) throw new Error(`a credential did not verify: ${JSON.stringify(result.problems)}`);
  });

  return [
    row(`credentials issued via API (${CONCURRENCY} concurrent)`, engine, apiRate, '/s', { above: 1000 }),
    row(`bulk CSV issuance, batches of 1,000 (issuing time)`, engine, Number(state.throughput.rowsPerSecond), 'rows/s', { above: 5000 }),
    row(`bulk CSV issuance, job start to finish (wall clock)`, engine, BULK_ROWS / Number(state.throughput.elapsedSeconds), 'rows/s'),
    row(`bulk CSV issuance, upload to done (wall clock, incl. validation and queue pick-up)`, engine, wallRate, 'rows/s'),
    row(`verifications via API (${CONCURRENCY} concurrent)`, engine, verifyRate, '/s', { above: 5000 }),
  ];
}
