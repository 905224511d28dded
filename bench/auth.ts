import autocannon from 'autocannon';
import { loadConfig, startRuntime, systemActor, type Runtime } from '../src/kernel/index.js';
import { createEmployee } from '../src/modules/identity/employees.js';
import { identityModuleWith } from '../src/modules/identity/index.js';
import { createRole } from '../src/modules/identity/roles.js';
import { createTenant } from '../src/modules/identity/tenants.js';
import { fmt, note, progress, row, type Row } from './lib/report.js';

const ENGINE = 'PGlite (in process)';
const CONNECTIONS = 50;
const WARMUP_S = 1;
const DURATION_S = 5;
const PASSWORD = 'Bench2025password';
const WHOAMI = '/api/system/v1/whoami';
const TOKEN = '/api/identity/v1/oauth/token';
const LOGINS = 20;
const LOGIN_WORKERS = 4;

/**
 * Bearer verification and sign-in on a runtime with identity: `GET /api/system/v1/whoami` (public,
 * no database) without and with an access token, so the difference is the token check alone
 * (header decode, EdDSA verify with the cached key, claims → actor); then password grants, whose
 * cost is argon2id. Server and load generator share this process, so absolute figures are lower
 * than the CLI's; the ratio is what the target is about.
 */
export async function authBench(): Promise<Row[]> {
  const config = loadConfig({ env: {}, overrides: { dataDir: 'memory://', logLevel: 'warn', port: 0, host: '127.0.0.1' } });
  progress('auth: starting a runtime with identity on in-memory PGlite');
  // One user signs in many times a minute here: the per-user token limit would measure itself.
  const unlimited = { limit: 1_000_000, windowMs: 60_000 };
  const identity = identityModuleWith({ rateLimits: { tokenPerIdentifier: unlimited, tokenPerIp: unlimited } });
  const runtime = await startRuntime({ config, catalog: [identity], listen: true });
  const rows: Row[] = [];
  try {
    await seed(runtime);
    const token = await login(runtime.url);
    const throughput = async (label: string, headers: Record<string, string>) => {
      const url = `${runtime.url}${WHOAMI}`;
      progress(`auth: ${label}: ${WARMUP_S} s warm-up, ${DURATION_S} s measured`);
      await autocannon({ url, headers, connections: CONNECTIONS, duration: WARMUP_S });
      const result = await autocannon({ url, headers, connections: CONNECTIONS, duration: DURATION_S });
      const bad = result.non2xx + result.errors + result.timeouts;
      progress(`  ${fmt(result.requests.average)} req/s, p99 ${result.latency.p99} ms, non-2xx/errors/timeouts ${result.non2xx}/${result.errors}/${result.timeouts}`);
      if (bad > 0) throw new Error(`${label}: ${bad} failed requests`);
      return result.requests.average;
    };
    const anonymous = await throughput('whoami without a token', {});
    const bearer = await throughput('whoami with a Bearer token', { authorization: `Bearer ${token}` });
    const cost = ((anonymous - bearer) / anonymous) * 100;
    rows.push(row(`whoami throughput, no token (${CONNECTIONS} conns)`, ENGINE, anonymous, 'req/s'));
    rows.push(row(`whoami throughput, Bearer token verified locally (${CONNECTIONS} conns)`, ENGINE, bearer, 'req/s'));
    rows.push(row('token verification cost (share of the no-token throughput lost)', ENGINE, cost, '%', { below: 10 }, 1));

    progress(`auth: ${LOGINS} sequential password grants`);
    let started = performance.now();
    for (let i = 0; i < LOGINS; i++) await login(runtime.url);
    rows.push(row('password grants, sequential (argon2id)', ENGINE, (LOGINS * 1000) / (performance.now() - started), 'logins/s', undefined, 1));

    progress(`auth: ${LOGINS} password grants on each of ${LOGIN_WORKERS} concurrent clients`);
    started = performance.now();
    await Promise.all(
      Array.from({ length: LOGIN_WORKERS }, async () => {
        for (let i = 0; i < LOGINS; i++) await login(runtime.url);
      }),
    );
    rows.push(row(`password grants, ${LOGIN_WORKERS} concurrent clients (argon2id)`, ENGINE, (LOGIN_WORKERS * LOGINS * 1000) / (performance.now() - started), 'logins/s', undefined, 1));
  } catch (err) {
    rows.push(note('auth', ENGINE, `failed: ${(err as Error).message}`, 'FAIL'));
  } finally {
    await runtime.stop();
  }
  return rows;
}

async function seed(runtime: Runtime): Promise<void> {
  const ctx = runtime.contextFor('identity', systemActor('bench'));
  await createTenant(ctx, { code: 'bench', name: 'Bench' });
  await createRole(ctx, { tenantId: 'bench', code: 'READER', name: 'Reader', permissions: ['identity.tenant.read'] });
  await createEmployee(ctx, { tenantId: 'bench', username: 'bencher', name: 'Bencher', password: PASSWORD, roles: [{ role: 'READER', tenant: 'bench' }] });
}

async function login(base: string): Promise<string> {
  const res = await fetch(`${base}${TOKEN}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'password', username: 'bencher', password: PASSWORD, tenant: 'bench' }),
  });
  if (res.status !== 200) throw new Error(`password grant answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
