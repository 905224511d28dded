import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, startRuntime, type Actor, type Runtime } from '../src/kernel/index.js';
import { InternalTokens } from '../src/kernel/modules/internal-token.js';
import { credentialsModuleWith } from '../src/modules/credentials/index.js';
import { identityModule } from '../src/modules/identity/index.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from '../test/support/test-database.js';
import { deleteStream } from '../test/support/test-runtime.js';
import { runClients, WARMUP_MS } from './lib/http-load.js';
import { fmt, note, progress, row, type Row } from './lib/report.js';
import { removeLater, startSeva, stopSeva } from './lib/seva-process.js';

const BULK_ROWS = 20_000;
/** The API's largest batch: a campaign's upload is issued in as few transactions as it allows. */
const BULK_BATCH = 2_000;
/** Distinct credentials the verifiers cycle through. */
const VERIFY_SET = 200;
const CLIENTS = 16;
const MEASURE_MS = 5_000;
/** More issuance bodies than the measured seconds can use: each has its own source reference. */
const ISSUE_BODIES = 20_000;
/** `SEVA_BENCH_CREDENTIALS_PROCESSES` to compare shapes (1 = the CLI as one process with NATS). */
const PROCESSES = Number(process.env.SEVA_BENCH_CREDENTIALS_PROCESSES ?? 2);
const API = '/api/credentials/v1';
const ACTOR: Actor = { kind: 'user', id: 'usr_bench', tenantId: 'in', roles: [], permissions: ['credentials.*'] };

/**
 * Credentials issued per second through the API (CLIENTS requests in flight, through the whole
 * gate: token, validation, signing, insert, event, audit), bulk CSV issuance per second (one job,
 * batches of BULK_BATCH), and verifications per second (`POST /verify`, a public route, called without
 * credentials as a verifier would; keys and status lists cached). Over HTTP, the clients in a
 * worker thread (as on other machines), against: one in-process runtime on PGlite and, with
 * DATABASE_URL, on PostgreSQL; and, with NATS_URL too, the CLI with SEVA_PROCESSES=2 (one server
 * process per core of this machine).
 */
export async function credentialsBench(): Promise<Row[]> {
  const rows: Row[] = [];
  const engines = process.env.SEVA_BENCH_CREDENTIALS_CLI_ONLY === '1' ? [] : process.env.DATABASE_URL ? (['PGlite', 'PostgreSQL'] as const) : (['PGlite'] as const);
  for (const engine of engines) {
    const url = engine === 'PostgreSQL' ? await createFreshPostgresDatabase() : undefined;
    let runtime: Runtime | undefined;
    try {
      const config = loadConfig({
        env: {},
        overrides: { logLevel: 'warn', masterKey: randomBytes(32).toString('base64'), dataDir: 'memory://', port: 0, host: '127.0.0.1', ...(url ? { databaseUrl: url, databasePoolSize: 10 } : {}) },
      });
      runtime = await startRuntime({ config, catalog: [identityModule, credentialsModuleWith()], listen: true });
      const origin = `http://127.0.0.1:${(runtime.http.server.address() as { port: number }).port}`;
      rows.push(...(await measure(origin, await runtime.internalToken(ACTOR), `${engine}, 1 process`, true)));
    } finally {
      await runtime?.stop();
      if (url) await dropPostgresDatabase(url);
    }
  }
  if (!process.env.DATABASE_URL || !process.env.NATS_URL) {
    rows.push(note(`credentials via API, ${PROCESSES} server processes`, 'PostgreSQL+NATS', 'skipped (set DATABASE_URL and NATS_URL)', '—'));
    return rows;
  }
  rows.push(...(await inProcesses()));
  return rows;
}

/** The shipped CLI with SEVA_PROCESSES=2 on a fresh PostgreSQL database and a NATS namespace of its own. */
async function inProcesses(): Promise<Row[]> {
  const url = (await createFreshPostgresDatabase())!;
  const masterKey = randomBytes(32).toString('base64');
  const namespace = `benchcred${randomBytes(3).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'seva-bench-cred-'));
  removeLater(dataDir);
  const seva = await startSeva(dataDir, 120_000, {
    DATABASE_URL: url,
    NATS_URL: process.env.NATS_URL!,
    SEVA_MASTER_KEY: masterKey,
    SEVA_EVENTS_NAMESPACE: namespace,
    SEVA_PROCESSES: String(PROCESSES),
    SEVA_DATABASE_POOL_SIZE: '10',
  });
  try {
    const token = await new InternalTokens(Buffer.from(masterKey, 'base64')).sign(ACTOR, 'bench');
    return await measure(seva.url, token, `PostgreSQL+NATS, ${PROCESSES} processes (CLI)`, true);
  } finally {
    await stopSeva(seva);
    await dropPostgresDatabase(url);
    await deleteStream(process.env.NATS_URL!, namespace);
  }
}

async function measure(origin: string, token: string, engine: string, bulk: boolean): Promise<Row[]> {
  const base = `${origin}${API}`;
  const headers = { 'x-seva-actor': token };
  const call = async (method: 'GET' | 'POST', path: string, payload?: object) => {
    const res = await fetch(base + path, { method, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) }, ...(payload ? { body: JSON.stringify(payload) } : {}) });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as any;
  };
  await call('POST', '/types', {
    tenantId: 'in',
    code: 'vaccination',
    name: 'Vaccination',
    vcType: 'VaccinationCertificate',
    validityDays: 365,
    claimsSchema: { type: 'object', required: ['name', 'dose'], properties: { name: { type: 'string' }, vaccine: { type: 'string' }, dose: { type: 'integer' } } },
  });
  const toVerify: string[] = [];
  for (let i = 0; i < VERIFY_SET; i++) {
    const body = await call('POST', '/credentials', { tenantId: 'in', type: 'vaccination', sourceRef: `verify-${i}`, subjectMobile: '9876543210', claims: { name: `Person ${i}`, vaccine: 'COVAXIN', dose: 1 } });
    toVerify.push(JSON.stringify({ credential: body.credential }));
  }

  progress(`credentials (${engine}): API issuance, ${CLIENTS} clients, ${WARMUP_MS / 1000} s warm-up, ${MEASURE_MS / 1000} s measured`);
  const bodies = Array.from({ length: ISSUE_BODIES }, (_, i) => JSON.stringify({ tenantId: 'in', type: 'vaccination', sourceRef: `api-${i}`, subjectMobile: '9876543210', claims: { name: `Person ${i}`, vaccine: 'COVAXIN', dose: 1 } }));
  const issued = await runClients('posts', { base, headers, clients: CLIENTS, path: '/credentials', bodies, expected: 201 }, WARMUP_MS, MEASURE_MS);
  if (issued.failures > 0) throw new Error(`${issued.failures} issuances failed (last: ${issued.lastError})`);
  const apiRate = issued.latencies.length / (MEASURE_MS / 1000);
  progress(`  ${fmt(apiRate)} issued/s`);

  const rows: Row[] = [row(`credentials issued via API (${CLIENTS} clients, HTTP)`, engine, apiRate, '/s', { above: 1000 })];
  if (bulk) {
    progress(`credentials (${engine}): bulk job of ${fmt(BULK_ROWS)} rows`);
    const csv = ['sourceRef,name,vaccine,dose,mobile', ...Array.from({ length: BULK_ROWS }, (_, i) => `bulk-${i},Person ${i},COVAXIN,1,9876543210`)].join('\n');
    const started = performance.now();
    const job = await call('POST', '/bulk-jobs', { tenantId: 'in', type: 'vaccination', csv, batchSize: BULK_BATCH });
    let state = job;
    while (state.status !== 'completed' && state.status !== 'failed') {
      await new Promise((r) => setTimeout(r, 200));
      state = await call('GET', `/bulk-jobs/${job.id}`);
    }
    const wallRate = BULK_ROWS / ((performance.now() - started) / 1000);
    if (state.counts.issued !== BULK_ROWS) throw new Error(`bulk issued ${state.counts.issued} of ${BULK_ROWS}`);
    rows.push(
      row(`bulk CSV issuance, batches of ${fmt(BULK_BATCH)} (issuing time)`, engine, Number(state.throughput.rowsPerSecond), 'rows/s', { above: 5000 }),
      row(`bulk CSV issuance, job start to finish (wall clock)`, engine, BULK_ROWS / Number(state.throughput.elapsedSeconds), 'rows/s'),
      row(`bulk CSV issuance, upload to done (wall clock, incl. validation and queue pick-up)`, engine, wallRate, 'rows/s'),
    );
  }

  progress(`credentials (${engine}): verification, ${CLIENTS} clients without credentials`);
  const verified = await runClients('posts', { base, headers: {}, clients: CLIENTS, path: '/verify', bodies: toVerify, expected: 200, mustContain: '"verified":true' }, WARMUP_MS, MEASURE_MS);
  if (verified.failures > 0) throw new Error(`${verified.failures} verifications failed (last: ${verified.lastError})`);
  const verifyRate = verified.latencies.length / (MEASURE_MS / 1000);
  progress(`  ${fmt(verifyRate)} verified/s`);
  rows.push(row(`verifications via API (${CLIENTS} clients, HTTP)`, engine, verifyRate, '/s', { above: 5000 }));
  return rows;
}
