import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadConfig, startRuntime, systemActor, type Runtime, type SevaConfig } from '../src/kernel/index.js';
import { referenceModuleWith } from '../src/modules/reference/index.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from '../test/support/test-database.js';
import { fmt, note, progress, row, type Comparison, type Row } from './lib/report.js';

/** Each measure runs this long (after a short warm-up). */
const MEASURE_MS = 3_000;
/** Callers in flight at once, as many HTTP clients would be; one ID per call is bound by commit latency otherwise. */
const CONCURRENT_CALLERS = 32;
const BATCH_TARGET: Comparison = { above: 10_000 };
const SINGLE_TARGET: Comparison = { above: 2_000 };

/**
 * ID allocation (batches of 1000, and one ID per call from 32 concurrent callers) and master-data
 * lookups through the cache, all as in-process operation calls (the gate: permission, zod input
 * and output, tenant scope) on a runtime with only the reference module.
 */
export async function referenceBench(workDir: string): Promise<Row[]> {
  const rows: Row[] = [await runEngine('PGlite', { dataDir: join(workDir, 'data-reference') })].flat();
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) {
    const url = (await createFreshPostgresDatabase())!;
    try {
      rows.push(...(await runEngine('PostgreSQL', { databaseUrl: url, databasePoolSize: 10 }, true)));
    } finally {
      await dropPostgresDatabase(url);
    }
  } else rows.push(note('IDs allocated', 'PostgreSQL', 'skipped (set DATABASE_URL)', '—', '> 10,000 ids/s in batches'));
  return rows;
}

async function runEngine(engine: string, overrides: Partial<SevaConfig>, judged = false): Promise<Row[]> {
  let runtime: Runtime | undefined;
  try {
    const config = loadConfig({ env: {}, overrides: { logLevel: 'warn', masterKey: randomBytes(32).toString('base64'), dataDir: 'memory://', ...overrides } });
    runtime = await startRuntime({ config, catalog: [referenceModuleWith()], listen: false });
    const ctx = runtime.contextFor('reference', systemActor('bench'), 'bench-reference');
    const caller = runtime.contextFor('reference', { kind: 'user', id: 'usr_bench', tenantId: 'in.ka', roles: [], permissions: ['reference.*'] }, 'bench-reference');
    await ctx.call('reference', 'createIdFormat', { tenantId: 'in', code: 'bench.licence', template: 'TL-[city]-[fy:yyyy-yy]-[seq:8]' });
    await ctx.call('reference', 'defineSchema', { tenantId: 'in', code: 'bench.fee', definition: { type: 'object', properties: { amount: { type: 'integer' } } } });
    for (let i = 0; i < 100; i++) await ctx.call('reference', 'createRecord', { tenantId: i % 2 ? 'in' : 'in.ka', schema: 'bench.fee', key: `K${i}`, data: { amount: i } });

    progress(`reference: ${engine}: IDs in batches of 1000`);
    const batched = await rate(1, async () => {
      await caller.call('reference', 'generateIds', { tenantId: 'in.ka.bengaluru', format: 'bench.licence', count: 1000 });
      return 1000;
    });
    progress(`reference: ${engine}: one ID per call, ${CONCURRENT_CALLERS} callers`);
    const single = await rate(CONCURRENT_CALLERS, async () => {
      await caller.call('reference', 'generateIds', { tenantId: 'in.ka.bengaluru', format: 'bench.licence' });
      return 1;
    });
    progress(`reference: ${engine}: master-data lookups (cached), ${CONCURRENT_CALLERS} callers`);
    let n = 0;
    const lookups = await rate(CONCURRENT_CALLERS, async () => {
      await caller.call('reference', 'getRecord', { tenant: 'in.ka.bengaluru', schema: 'bench.fee', key: `K${n++ % 100}` });
      return 1;
    });
    return [
      row('IDs allocated, batches of 1000', engine, batched, 'ids/s', judged ? BATCH_TARGET : undefined),
      row(`IDs allocated, one per call (${CONCURRENT_CALLERS} callers)`, engine, single, 'ids/s', judged ? SINGLE_TARGET : undefined),
      row(`master-data lookups with fallback, cached (${CONCURRENT_CALLERS} callers)`, engine, lookups, 'lookups/s'),
    ];
  } finally {
    await runtime?.stop();
  }
}

/** Units per second of `step` run by `callers` loops for MEASURE_MS, after 300 ms of warm-up. */
async function rate(callers: number, step: () => Promise<number>): Promise<number> {
  const warm = performance.now() + 300;
  while (performance.now() < warm) await step();
  let units = 0;
  const started = performance.now();
  const end = started + MEASURE_MS;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        // Not `units += await step()`: that reads `units` before the await and loses the others' counts.
        const done = await step();
        units += done;
      }
    }),
  );
  const perSecond = units / ((performance.now() - started) / 1000);
  progress(`  ${fmt(perSecond)} per second`);
  return perSecond;
}

