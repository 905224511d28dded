import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadConfig, sql, startRuntime, systemActor, type Runtime, type SevaConfig } from '../src/kernel/index.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from '../test/support/test-database.js';
import { deleteStream } from '../test/support/test-runtime.js';
import { benchModule, commitBatch, SINK } from './bench-module.js';
import { fmt, note, progress, row, type Comparison, type Row } from './lib/report.js';
import { sleep } from './lib/seva-process.js';

const EVENTS = 20_000;
const PER_TRANSACTION = 100;
const POLL_MS = 50;
/** Bounds, so a slow engine cannot stall the run: commits stop after 60 s, delivery gets 30 s more. */
const COMMIT_TIMEOUT_MS = 60_000;
const DELIVERY_TIMEOUT_MS = 30_000;
const PG_TARGET: Comparison = { above: 5_000 };

interface Engine {
  name: string;
  target?: Comparison;
  /** Config overrides and what to clean up after the runtime stops. */
  prepare(): Promise<{ overrides: Partial<SevaConfig>; cleanup(): Promise<void> }>;
}

/**
 * Commits N events in transactions of 100 through an in-process runtime, then waits until the
 * bench module's consumer has handled all of them (its processed-event marks).
 */
export async function outboxBench(workDir: string): Promise<Row[]> {
  const databaseUrl = process.env.DATABASE_URL;
  const natsUrl = process.env.NATS_URL;
  const rows: Row[] = [];
  const skipped: Row[] = [];
  const engines: Engine[] = [
    { name: 'PGlite', prepare: async () => ({ overrides: { dataDir: join(workDir, 'data-outbox') }, cleanup: async () => {} }) },
  ];
  if (databaseUrl) {
    engines.push({ name: 'PostgreSQL', target: PG_TARGET, prepare: () => postgres(false) });
    if (natsUrl) engines.push({ name: 'PostgreSQL+NATS', target: PG_TARGET, prepare: () => postgres(true) });
    else skipped.push(note('outbox events delivered', 'PostgreSQL+NATS', 'skipped (set NATS_URL)', '—'));
  } else {
    skipped.push(note('outbox events committed / delivered', 'PostgreSQL', 'skipped (set DATABASE_URL)', '—', '> 5,000 events/s delivered'));
    if (natsUrl) skipped.push(note('outbox events delivered', 'PostgreSQL+NATS', 'skipped (set DATABASE_URL too)', '—'));
  }
  for (const engine of engines) rows.push(...(await runEngine(engine)));
  return [...rows, ...skipped];
}

async function postgres(withNats: boolean): Promise<{ overrides: Partial<SevaConfig>; cleanup(): Promise<void> }> {
  const url = (await createFreshPostgresDatabase())!;
  const namespace = `bench${randomBytes(4).toString('hex')}`;
  const natsUrl = process.env.NATS_URL!;
  return {
    overrides: { databaseUrl: url, ...(withNats ? { natsUrl, eventsNamespace: namespace } : {}) },
    cleanup: async () => {
      await dropPostgresDatabase(url);
      if (withNats) await deleteStream(natsUrl, namespace);
    },
  };
}

async function runEngine(engine: Engine): Promise<Row[]> {
  progress(`outbox: ${engine.name}: ${fmt(EVENTS)} events in transactions of ${PER_TRANSACTION}`);
  let runtime: Runtime | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  try {
    const prepared = await engine.prepare();
    cleanup = prepared.cleanup;
    const overrides = prepared.overrides;
    const config = loadConfig({
      env: {},
      overrides: { logLevel: 'warn', masterKey: randomBytes(32).toString('base64'), dataDir: 'memory://', ...overrides },
    });
    runtime = await startRuntime({ config, catalog: [benchModule], listen: false });
    const ctx = runtime.contextFor('bench', systemActor('bench'), 'bench-outbox');
    const delivered = () => deliveredCount(runtime!);

    const started = performance.now();
    let committed = 0;
    while (committed < EVENTS && performance.now() - started < COMMIT_TIMEOUT_MS) {
      await commitBatch(ctx, committed / PER_TRANSACTION, PER_TRANSACTION);
      committed += PER_TRANSACTION;
    }
    const committedMs = performance.now() - started;
    const atCommit = await delivered();
    progress(`  committed ${fmt(committed)} in ${Math.round(committedMs)} ms (${fmt(atCommit)} already delivered)`);

    let count = atCommit;
    while (count < committed && performance.now() - started < committedMs + DELIVERY_TIMEOUT_MS) {
      await sleep(POLL_MS);
      count = await delivered();
    }
    const deliveredMs = performance.now() - started;
    progress(`  delivered ${fmt(count)} in ${Math.round(deliveredMs)} ms; bus stats ${JSON.stringify(runtime.bus.stats)}`);

    const rows: Row[] = [];
    if (committed < EVENTS) {
      rows.push(note('outbox events committed (100 per transaction)', engine.name, `timeout: ${fmt(committed)} of ${fmt(EVENTS)} in ${COMMIT_TIMEOUT_MS / 1000} s`, 'incomplete'));
    } else {
      rows.push(row('outbox events committed (100 per transaction)', engine.name, (committed / committedMs) * 1000, 'events/s'));
    }
    if (count < committed) {
      const target = engine.target ? '> 5,000 events/s' : '—';
      rows.push(note('outbox events delivered', engine.name, `timeout: ${fmt(count)} of ${fmt(committed)} handled`, engine.target ? 'MISS' : 'incomplete', target));
    } else {
      rows.push(row('outbox events delivered (commit start to all handled)', engine.name, (count / deliveredMs) * 1000, 'events/s', engine.target));
    }
    return rows;
  } catch (err) {
    progress(`  failed: ${(err as Error).stack ?? String(err)}`);
    return [note('outbox events delivered', engine.name, `failed: ${(err as Error).message.slice(0, 120)}`, 'FAIL')];
  } finally {
    await runtime?.stop().catch((err: Error) => progress(`  stop failed: ${err.message}`));
    await cleanup?.().catch((err: Error) => progress(`  cleanup failed: ${err.message}`));
  }
}

async function deliveredCount(runtime: Runtime): Promise<number> {
  const result = await sql<{ n: number }>`select count(*)::int as n from kernel.processed_events where consumer = ${SINK}`.execute(runtime.database.db);
  return Number(result.rows[0]?.n ?? 0);
}
