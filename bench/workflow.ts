import { randomBytes } from 'node:crypto';
import { loadConfig, sql, startRuntime, systemActor, type Runtime } from '../src/kernel/index.js';
import { identityModule } from '../src/modules/identity/index.js';
import { referenceModuleWith } from '../src/modules/reference/index.js';
import { workflowModuleWith } from '../src/modules/workflow/index.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from '../test/support/test-database.js';
import { passwordLogin, runClients, WARMUP_MS } from './lib/http-load.js';
import { fmt, note, percentile, progress, row, type Row } from './lib/report.js';

const ENGINE = 'PostgreSQL';
const CLIENTS = 50;
const TRANSITION_MS = 8_000;
/** The target rate, offered on a schedule, for the latency target (`SEVA_BENCH_WORKFLOW_RATE` to see another). */
const PACED_RATE = Number(process.env.SEVA_BENCH_WORKFLOW_RATE ?? 1_000);
/** `SEVA_BENCH_WORKFLOW_INSTANCES=0` skips the inbox (to iterate on transitions alone). */
const INSTANCES = Number(process.env.SEVA_BENCH_WORKFLOW_INSTANCES ?? 1_000_000);
const CITIES = 20;
const WARDS = 50;
const INBOX_MS = 5_000;
const INBOX_CLIENTS = 4;
const PASSWORD = 'Bench2026password';

/** A two-state loop with SLAs, so every action recomputes a due time on the business calendar. */
const BENCH_FLOW = {
  code: 'BENCH',
  name: 'Bench flow',
  sla: 'P30D',
  states: [
    { name: 'OPEN', start: true, sla: 'P2D' },
    { name: 'WORKING', sla: 'P3D' },
    { name: 'DONE', terminal: true },
  ],
  actions: [
    { name: 'TAKE', from: ['OPEN'], to: 'WORKING', roles: ['BENCH'] },
    { name: 'BACK', from: ['WORKING'], to: 'OPEN', roles: ['BENCH'], guard: { '!=': [{ var: 'blocked' }, true] } },
    { name: 'FINISH', from: ['WORKING'], to: 'DONE', roles: ['BENCH'] },
  ],
};

/**
 * Workflow on PostgreSQL only: transitions per second over HTTP from 50 concurrent clients, then
 * the inbox with 1,000,000 process instances loaded by SQL in the shape the module writes.
 */
export async function workflowBench(): Promise<Row[]> {
  if (!process.env.DATABASE_URL) {
    return [
      note('workflow transitions over HTTP (50 clients)', ENGINE, 'skipped (set DATABASE_URL)', '—', '> 1,000 transitions/s, p99 < 50 ms'),
      note('workflow inbox with 1,000,000 instances', ENGINE, 'skipped (set DATABASE_URL)', '—', 'p95 < 50 ms'),
    ];
  }
  const url = (await createFreshPostgresDatabase())!;
  let runtime: Runtime | undefined;
  try {
    const config = loadConfig({ env: {}, overrides: { logLevel: 'warn', masterKey: randomBytes(32).toString('base64'), dataDir: 'memory://', databaseUrl: url, databasePoolSize: 20, port: 0, host: '127.0.0.1' } });
    runtime = await startRuntime({ config, catalog: [identityModule, referenceModuleWith(), workflowModuleWith()], listen: true });
    const base = `${origin(runtime)}/api/workflow/v1`;
    await setUp(runtime);
    return [...(await transitions(runtime, base)), ...(INSTANCES > 0 ? await inbox(runtime, base) : [])];
  } finally {
    await runtime?.stop();
    await dropPostgresDatabase(url);
  }
}

async function setUp(runtime: Runtime) {
  const id = runtime.contextFor('identity', systemActor('bench'));
  await id.call('identity', 'createTenant', { code: 'bench', name: 'Bench' });
  for (let c = 0; c < CITIES; c++) await id.call('identity', 'createTenant', { code: city(c), name: `City ${c}` });
  await id.call('identity', 'createRole', { tenantId: 'bench', code: 'BENCH', name: 'Bench', permissions: ['workflow.*'] });
  await id.call('identity', 'createDepartment', { tenantId: 'bench', code: 'REV', name: 'Revenue' });
  await id.call('identity', 'createDesignation', { tenantId: 'bench', code: 'CLERK', name: 'Clerk' });
  const ward = (w: number) => `C03.W${String(w).padStart(2, '0')}`;
  const make = async (username: string, jurisdiction: string[]) => {
    const e = await id.call<{ id: string }>('identity', 'createEmployee', { tenantId: city(3), username, name: username, password: PASSWORD, roles: [{ role: 'BENCH', tenant: city(3) }] });
    await id.call('identity', 'assignEmployee', { id: e.id, department: 'REV', designation: 'CLERK', jurisdiction, from: '2020-01-01' });
    return e.id;
  };
  const wf = runtime.contextFor('workflow', systemActor('bench'));
  await wf.call('workflow', 'defineWorkflow', { tenantId: 'bench', definition: BENCH_FLOW });
  const wards = await make('wardclerk', [ward(1), ward(2)]);
  const cityClerk = await make('cityclerk', [city(3)]);
  // The transitions' clerk works in every city of the state.
  await id.call('identity', 'createEmployee', { tenantId: 'bench', username: 'stateclerk', name: 'stateclerk', password: PASSWORD, roles: [{ role: 'BENCH', tenant: 'bench' }] });
  return { wards, city: cityClerk };
}

const origin = (runtime: Runtime) => `http://127.0.0.1:${(runtime.http.server.address() as { port: number }).port}`;
const city = (c: number) => `bench.c${String(c).padStart(2, '0')}`;


async function transitions(runtime: Runtime, base: string): Promise<Row[]> {
  const headers = await passwordLogin(origin(runtime), 'stateclerk', PASSWORD, 'bench');
  // One process per client: clients never race on a record, so every request is a real transition.
  const processes: Array<{ id: string; version: number; state: string }> = [];
  for (let i = 0; i < CLIENTS; i++) {
    const res = await fetch(`${base}/processes`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ tenantId: city(i % CITIES), service: 'BENCH', businessId: `HTTP-${i}` }) });
    if (res.status !== 201) throw new Error(`starting a process answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { id: string; version: number; state: string };
    processes.push(body);
  }
  progress(`workflow: transitions, ${CLIENTS} clients (a worker thread, bearer tokens): ${WARMUP_MS / 1000} s warm-up, ${TRANSITION_MS / 1000} s measured`);
  const { latencies, failures, lastError } = await runClients('transitions', { base, headers, processes }, WARMUP_MS, TRANSITION_MS);
  const seconds = TRANSITION_MS / 1000;
  latencies.sort((a, b) => a - b);
  const p99 = percentile(latencies, 99);
  progress(`  ${fmt(latencies.length / seconds)} transitions/s, p50 ${fmt(percentile(latencies, 50), 1)} ms, p99 ${fmt(p99, 1)} ms, failures ${failures}${lastError ? ` (last: ${lastError})` : ''}`);
  if (failures > 0) return [note(`workflow transitions over HTTP (${CLIENTS} clients)`, ENGINE, `${failures} failed requests`, 'FAIL', '> 1,000 transitions/s')];
  // The latency target at the target rate: 50 clients as fast as they can go measure capacity,
  // and there the mean latency is 50 / throughput by construction (50 ms at exactly 1,000/s).
  progress(`workflow: transitions at ${fmt(PACED_RATE)}/s offered by ${CLIENTS} clients on a schedule: 1 s warm-up, ${TRANSITION_MS / 1000} s measured`);
  // The clients' worker moved the processes on: start from their current versions.
  const current = await Promise.all(processes.map(async (p) => (await (await fetch(`${base}/processes/${p.id}`, { headers })).json()) as { id: string; version: number; state: string }));
  const paced = await runClients('transitionsPaced', { base, headers, processes: current, rate: PACED_RATE }, 1_000, TRANSITION_MS);
  paced.latencies.sort((a, b) => a - b);
  const pacedP99 = percentile(paced.latencies, 99);
  progress(`  ${fmt(paced.completed / seconds)} transitions/s served, p50 ${fmt(percentile(paced.latencies, 50), 1)} ms, p99 ${fmt(pacedP99, 1)} ms, failures ${paced.failures}${paced.lastError ? ` (last: ${paced.lastError})` : ''}`);
  if (paced.failures > 0) return [note(`workflow transitions at ${fmt(PACED_RATE)}/s (${CLIENTS} clients)`, ENGINE, `${paced.failures} failed requests`, 'FAIL', 'p99 < 50 ms')];
  return [
    row(`workflow transitions over HTTP (${CLIENTS} clients, as fast as they go)`, ENGINE, latencies.length / seconds, 'transitions/s', { above: 1_000 }),
    row(`workflow transition p99 latency, as fast as they go (${CLIENTS} clients)`, ENGINE, p99, 'ms', undefined, 1),
    row(`workflow transitions served at ${fmt(PACED_RATE)}/s offered (${CLIENTS} clients on a schedule)`, ENGINE, paced.completed / seconds, 'transitions/s'),
    row(`workflow transition p99 latency at ${fmt(PACED_RATE)}/s offered (from the due time)`, ENGINE, pacedP99, 'ms', { below: 50 }, 1),
  ];
}

/**
 * 1,000,000 processes in 20 cities of 50 wards each: 70 % active (OPEN or WORKING, due times
 * spread over ten days either side of now, a third assigned), 30 % closed.
 */
async function load(runtime: Runtime): Promise<number> {
  const db = runtime.database.db;
  const def = await db.selectFrom('workflow.definitions' as any).select('id').where('code', '=', 'BENCH').executeTakeFirstOrThrow();
  const started = performance.now();
  await sql`
    insert into workflow.processes (id, tenant_id, definition_id, service, business_id, boundary, boundary_path, state, status, record,
      assignee, state_entered_at, due_at, process_due_at, version, created_by, created_at, updated_at, closed_at)
    select 'wfp_bench' || g, 'bench.c' || lpad((g % ${CITIES})::text, 2, '0'), ${def.id}, 'BENCH', 'B-' || g,
      w.ward, array[w.ward, w.city],
      case when g % 10 < 3 then 'DONE' when g % 2 = 0 then 'OPEN' else 'WORKING' end,
      case when g % 10 < 3 then 'closed' else 'active' end,
      '{}'::jsonb,
      case when g % 3 = 0 then 'usr_bench_' || (g % 97) end,
      now() - interval '5 days',
      case when g % 10 >= 3 then now() + ((g % 20000) - 10000) * interval '72 seconds' end,
      now() + interval '20 days', 2, 'bench', now() - interval '5 days', now(), case when g % 10 < 3 then now() end
    from generate_series(1, ${INSTANCES}) g,
      lateral (select 'C' || lpad((g % ${CITIES})::text, 2, '0') as city,
                      'C' || lpad((g % ${CITIES})::text, 2, '0') || '.W' || lpad(((g / ${CITIES}) % ${WARDS})::text, 2, '0') as ward) w`.execute(db);
  // What autovacuum does to a table soon after a bulk load (it also empties the GIN indexes'
  // pending lists, which a query would otherwise scan in full): the steady state to measure.
  await sql`vacuum analyze workflow.processes`.execute(db);
  return performance.now() - started;
}

async function inbox(runtime: Runtime, base: string): Promise<Row[]> {
  progress(`workflow: loading ${fmt(INSTANCES)} process instances with generate_series`);
  const loadMs = await load(runtime);
  progress(`  loaded and vacuumed in ${fmt(loadMs / 1000, 1)} s`);
  const rows: Row[] = [note(`workflow: ${fmt(INSTANCES)} instances loaded (generate_series + vacuum analyze)`, ENGINE, `${fmt(loadMs / 1000, 1)} s`, '—')];
  const profiles = [
    { label: 'two wards (2,000 active records visible)', username: 'wardclerk', target: true },
    { label: 'whole city (50,000 active records visible)', username: 'cityclerk', target: false },
  ];
  for (const profile of profiles) {
    const headers = await passwordLogin(origin(runtime), profile.username, PASSWORD, city(3));
    const queries = ['', '&state=OPEN', '&slaStatus=breached', '&assignee=unassigned', '&slaStatus=dueSoon&state=WORKING'].map((q) => `tenant=${city(3)}&limit=20${q}`);
    const first = await fetch(`${base}/inbox?${queries[0]}`, { headers });
    const page = (await first.json()) as { items: unknown[]; nextCursor: string | null; facets: { state: Array<{ count: number }> } };
    if (first.status !== 200 || page.items.length === 0) throw new Error(`inbox answered ${first.status} with ${page.items?.length} items`);
    const visible = page.facets.state.reduce((n, f) => n + f.count, 0);
    if (page.nextCursor) queries.push(`${queries[0]}&cursor=${page.nextCursor}`);
    progress(`workflow: inbox, ${profile.label} (${fmt(visible)} by the facets), ${INBOX_CLIENTS} clients, ${INBOX_MS / 1000} s`);
    const { latencies, failures, lastError } = await runClients('inbox', { base, headers, clients: INBOX_CLIENTS, queries }, 500, INBOX_MS);
    if (failures > 0) throw new Error(`inbox: ${failures} failed requests (last: ${lastError})`);
    latencies.sort((a, b) => a - b);
    const p95 = percentile(latencies, 95);
    progress(`  ${fmt(latencies.length / (INBOX_MS / 1000))} inbox pages/s, p50 ${fmt(percentile(latencies, 50), 1)} ms, p95 ${fmt(p95, 1)} ms`);
    rows.push(row(`workflow inbox p95, page + facets, ${profile.label}`, ENGINE, p95, 'ms', profile.target ? { below: 50 } : undefined, 1));
  }
  return rows;
}
