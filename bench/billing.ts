import { randomBytes } from 'node:crypto';
import { loadConfig, sql, startRuntime, systemActor, type Runtime } from '../src/kernel/index.js';
import { billingModuleWith } from '../src/modules/billing/index.js';
import { identityModule } from '../src/modules/identity/index.js';
import { referenceModuleWith } from '../src/modules/reference/index.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from '../test/support/test-database.js';
import { passwordLogin, runClients, WARMUP_MS } from './lib/http-load.js';
import { fmt, note, percentile, progress, row, type Row } from './lib/report.js';

const ENGINE = 'PostgreSQL';
const CLIENTS = 50;
const PAYMENT_MS = 8_000;
const DEMANDS = 100_000;
const PAGE = 5_000;
const TENANT = 'bench.city';
const PASSWORD = 'Bench2026password';

/**
 * Billing on PostgreSQL: counter payments recorded per second over HTTP from 50 concurrent
 * clients (each a fresh bill: read, apportion, receipt number, one write with event and audit),
 * then bills for 100,000 demands loaded by SQL, generated in pages of 5,000 through the batch
 * operation.
 */
export async function billingBench(): Promise<Row[]> {
  if (!process.env.DATABASE_URL) {
    return [
      note(`billing counter payments over HTTP (${CLIENTS} clients)`, ENGINE, 'skipped (set DATABASE_URL)', '—', '> 1,000 payments/s'),
      note(`billing bills for ${fmt(DEMANDS)} demands (batch)`, ENGINE, 'skipped (set DATABASE_URL)', '—'),
    ];
  }
  const url = (await createFreshPostgresDatabase())!;
  let runtime: Runtime | undefined;
  try {
    const config = loadConfig({ env: {}, overrides: { logLevel: 'warn', masterKey: randomBytes(32).toString('base64'), dataDir: 'memory://', databaseUrl: url, databasePoolSize: 20, port: 0, host: '127.0.0.1' } });
    runtime = await startRuntime({ config, catalog: [identityModule, referenceModuleWith(), billingModuleWith({ scheduledReconcile: false })], listen: true });
    const base = `http://127.0.0.1:${(runtime.http.server.address() as { port: number }).port}/api/billing/v1`;
    await setUp(runtime);
    return [...(await payments(runtime, base)), ...(await batch(runtime))];
  } finally {
    await runtime?.stop();
    await dropPostgresDatabase(url);
  }
}

async function setUp(runtime: Runtime): Promise<void> {
  const id = runtime.contextFor('identity', systemActor('bench'));
  await id.call('identity', 'createTenant', { code: 'bench', name: 'Bench' });
  await id.call('identity', 'createTenant', { code: TENANT, name: 'Bench city' });
  await id.call('identity', 'createRole', { tenantId: TENANT, code: 'CASHIER', name: 'Cashier', permissions: ['billing.*'] });
  await id.call('identity', 'createEmployee', { tenantId: TENANT, username: 'cashier', name: 'Cashier', password: PASSWORD, roles: [{ role: 'CASHIER', tenant: TENANT }] });
  await runtime.contextFor('reference', systemActor('bench')).call('reference', 'createIdFormat', { tenantId: 'bench', code: 'billing.receipt', template: 'RCPT-[city]-[fy:yy-yy]-[seq:8]' });
  const b = runtime.contextFor('billing', systemActor('bench'));
  await b.call('billing', 'defineTaxHead', { tenantId: 'bench', service: 'TL', code: 'TL_FEE', name: 'Fee', category: 'fee', glCode: '1402-001' });
  await b.call('billing', 'defineTaxHead', { tenantId: 'bench', service: 'TL', code: 'TL_LATE_PENALTY', name: 'Penalty', category: 'penalty', glCode: '1402-090' });
  await b.call('billing', 'defineFeeRule', {
    tenantId: 'bench',
    service: 'TL',
    rule: { currency: 'INR', lines: [{ kind: 'slab', taxHead: 'TL_FEE', field: 'area', slabs: [{ upTo: 100, amount: 50_000 }, { upTo: null, amount: 150_000 }] }], penalty: { taxHead: 'TL_LATE_PENALTY', basisPointsPerMonth: 200 } },
  });
}


/** Demands and bills made by SQL in the shape the module writes, so the timed part is the payment alone. */
async function loadDemands(runtime: Runtime, prefix: string, count: number, withBills: boolean): Promise<void> {
  const db = runtime.database.db;
  const rule = await db.selectFrom('billing.fee_rules' as any).select('id').where('service', '=', 'TL').executeTakeFirstOrThrow();
  await sql`
    insert into billing.demands (id, tenant_id, service, consumer_code, period_from, period_to, due_at, currency, fee_rule_id, base_amount, total_amount, status, created_by, created_at, updated_at)
    select ${prefix} || g, ${TENANT}, 'TL', ${prefix} || g, '2026-04-01', '2027-03-31', now() - (g % 90) * interval '1 day', 'INR', ${rule.id}, 150000, 150000, 'active', 'bench', now(), now()
    from generate_series(1, ${count}) g`.execute(db);
  await sql`
    insert into billing.demand_lines (id, demand_id, tenant_id, seq, tax_head, category, source, amount)
    select ${prefix} || 'l' || g, ${prefix} || g, ${TENANT}, 1, 'TL_FEE', 'fee', 'fee', 150000 from generate_series(1, ${count}) g`.execute(db);
  if (withBills) {
    await sql`
      insert into billing.bills (id, tenant_id, demand_id, service, consumer_code, status, currency, total, minimum_payable, lines, generated_at, expires_at)
      select ${prefix} || 'b' || g, ${TENANT}, ${prefix} || g, 'TL', ${prefix} || g, 'active', 'INR', 150000, 150000,
        jsonb_build_array(jsonb_build_object('lineId', ${prefix} || 'l' || g, 'taxHead', 'TL_FEE', 'category', 'fee', 'source', 'fee', 'amount', 150000)), now(), now() + interval '1 day'
      from generate_series(1, ${count}) g`.execute(db);
  }
  await sql`vacuum analyze billing.demands, billing.demand_lines, billing.bills`.execute(db);
}

async function payments(runtime: Runtime, base: string): Promise<Row[]> {
  const ready = 60_000;
  progress(`billing: loading ${fmt(ready)} demands with bills for the payment run`);
  await loadDemands(runtime, 'pb', ready, true);
  const origin = base.slice(0, base.indexOf('/api/'));
  const headers = await passwordLogin(origin, 'cashier', PASSWORD, TENANT);
  progress(`billing: counter payments, ${CLIENTS} clients (a worker thread, a cashier's bearer token): ${WARMUP_MS / 1000} s warm-up, ${PAYMENT_MS / 1000} s measured`);
  const { latencies, failures, lastError } = await runClients('payments', { base, headers, clients: CLIENTS, tenantId: TENANT, billPrefix: 'pbb', bills: ready, amount: 150_000 }, WARMUP_MS, PAYMENT_MS);
  if (lastError) progress(`  last failure: ${lastError}`);
  const seconds = PAYMENT_MS / 1000;
  latencies.sort((a, b) => a - b);
  const p99 = percentile(latencies, 99);
  progress(`  ${fmt(latencies.length / seconds)} payments/s, p50 ${fmt(percentile(latencies, 50), 1)} ms, p99 ${fmt(p99, 1)} ms, failures ${failures}`);
  if (failures > 0) return [note(`billing counter payments over HTTP (${CLIENTS} clients)`, ENGINE, `${failures} failed requests`, 'FAIL', '> 1,000 payments/s')];
  return [
    row(`billing counter payments over HTTP (${CLIENTS} clients)`, ENGINE, latencies.length / seconds, 'payments/s', { above: 1_000 }),
    row(`billing counter payment p99 latency (${CLIENTS} clients)`, ENGINE, p99, 'ms', undefined, 1),
  ];
}

async function batch(runtime: Runtime): Promise<Row[]> {
  progress(`billing: loading ${fmt(DEMANDS)} demands (due 0–89 days ago: penalties) for the batch`);
  await sql`update billing.demands set status = 'paid' where tenant_id = ${TENANT}`.execute(runtime.database.db);
  await loadDemands(runtime, 'bd', DEMANDS, false);
  const ctx = runtime.contextFor('billing', systemActor('bench'));
  let after: string | undefined;
  let generated = 0;
  const started = performance.now();
  for (;;) {
    const page = await ctx.call<{ generated: number; nextCursor: string | null }>('billing', 'generateBills', { tenantId: TENANT, service: 'TL', limit: PAGE, ...(after ? { after } : {}) });
    generated += page.generated;
    if (!page.nextCursor) break;
    after = page.nextCursor;
  }
  const seconds = (performance.now() - started) / 1000;
  progress(`  ${fmt(generated)} bills in ${fmt(seconds, 1)} s (${fmt(generated / seconds)} bills/s)`);
  if (generated !== DEMANDS) return [note(`billing bills for ${fmt(DEMANDS)} demands (batch)`, ENGINE, `${generated} bills, expected ${DEMANDS}`, 'FAIL')];
  return [
    note(`billing bills for ${fmt(DEMANDS)} demands (batch of ${fmt(PAGE)} per transaction)`, ENGINE, `${fmt(seconds, 1)} s`, '—'),
    row(`billing bill generation rate (${fmt(DEMANDS)} demands)`, ENGINE, generated / seconds, 'bills/s'),
  ];
}
