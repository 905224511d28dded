import { Command } from 'commander';
import { isServerProcess, reportReady, runPrimary } from './cluster.js';
import {
  createLogger,
  loadConfig,
  openDatabase,
  migrationSets,
  planForConfig,
  resolveMasterKey,
  runMigrations,
  SevaBootError,
  startRuntime,
  systemActor,
  sealAllAudit,
  verifyAuditChain,
  kernelMigrations,
  type ModuleDef,
  type Runtime,
  type SevaConfig,
} from '../kernel/index.js';

/** The `seva` command line over a module catalogue (the shipped one, or tests' fixtures too). */
export async function runCli(argv: string[], catalog: readonly ModuleDef<any>[]): Promise<void> {
  const program = new Command('seva').description('Seva: public service delivery platform').option('-c, --config <file>', 'JSON config file (SEVA_CONFIG)');
  const config = () => loadConfig({ file: program.opts().config });

  program
    .command('start')
    .description('run the selected modules: HTTP API, events and jobs')
    .action(() =>
      guard(async () => {
        const cfg = config();
        if (cfg.processes > 1 && !isServerProcess()) await runPrimary(cfg, createLogger({ level: cfg.logLevel }));
        else await start(cfg, catalog);
      }),
    );
  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(() => guard(() => migrate(config(), catalog)));
  program
    .command('seed')
    .description('load data')
    .option('--demo', 'load the demo tenants, users and services')
    .action((opts: { demo?: boolean }) =>
      guard(async () => {
        if (!opts.demo) throw new SevaBootError('say what to seed: seva seed --demo');
        const cfg = config();
        const runtime = await startRuntime({ config: cfg, catalog, listen: false });
        try {
          const credentials = await prepareData(runtime, cfg, true);
          console.log(credentialLines(credentials, runtime).join('\n'));
        } finally {
          await runtime.stop();
        }
      }),
    );
  program
    .command('check')
    .description('validate the configuration and the module plan without starting')
    .action(() =>
      guard(async () => {
        const cfg = config();
        const plan = planForConfig(cfg, catalog);
        resolveMasterKey(cfg);
        console.log(`configuration ok; modules here: ${plan.local.map((m) => m.name).join(', ') || '(kernel only)'}`);
        if (plan.remote.size) console.log(`remote modules: ${[...plan.remote].map(([n, u]) => `${n}=${u}`).join(', ')}`);
      }),
    );
  program
    .command('audit')
    .description('audit log tools')
    .command('verify')
    .description('recompute the audit hash chain; exit 1 if an entry was modified or deleted')
    .action(() =>
      guard(async () => {
        const cfg = config();
        const database = await openDatabase({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir });
        try {
          await runMigrations(database, [kernelMigrations]);
          // Links what a stopped server left unsealed, so every committed entry is checked.
          await sealAllAudit(database.db);
          const result = await verifyAuditChain(database.db);
          console.log(result.ok ? `audit chain ok: ${result.entries} entries` : `audit chain BROKEN: ${result.problems.map((p) => `#${p.n} ${p.problem}`).join('; ')}`);
          if (!result.ok) process.exitCode = 1;
        } finally {
          await database.close();
        }
      }),
    );
  await program.parseAsync(argv);
}

const JOBS_AFTER_MS = 1000;

async function start(config: SevaConfig, catalog: readonly ModuleDef<any>[]): Promise<void> {
  const log = createLogger({ level: config.logLevel });
  let credentials: Array<{ label: string; value: string }> = [];
  const runtime = await startRuntime({
    config,
    catalog,
    log,
    // The first requests are served before the job workers start (see startJobsAfterMs).
    startJobsAfterMs: JOBS_AFTER_MS,
    // A fresh embedded database is a demo; a fresh PostgreSQL one only gets its first administrator.
    beforeListen: async (prepared) => {
      const fresh = prepared.appliedMigrations.includes(`kernel/${kernelMigrations.migrations[0]!.name}`);
      credentials = await prepareData(prepared, config, fresh && !config.databaseUrl);
    },
  });
  log.info({ timings: runtime.timings }, 'ready');
  // The launcher keeps V8's compiled code of the bundle once a start has compiled what a start
  // needs, the job workers' start included (a second after the port opens).
  const saveCodeCache = (globalThis as Record<symbol, (() => void) | undefined>)[Symbol.for('seva.codeCache.save')];
  if (saveCodeCache) setTimeout(saveCodeCache, JOBS_AFTER_MS + 2000).unref();
  // Before the banner: whoever waits for it may stop the process at once.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    runtime.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  const shown = runtime.url.replace('127.0.0.1', 'localhost');
  const banner = [
    `\nSeva is ready at ${shown} (${runtime.timings.ready} ms)`,
    `  API docs:  ${shown}/docs`,
    `  database:  ${config.databaseUrl ? 'PostgreSQL' : `embedded (${config.dataDir})`}; events: ${runtime.bus.kind}`,
    `  modules:   ${runtime.plan.local.map((m) => m.name).join(', ')}`,
    ...credentialLines(credentials, runtime),
  ];
  // Several processes: the primary prints one banner once every process serves.
  if (isServerProcess()) reportReady(banner, shutdown);
  // One write, so whoever watches the output sees the whole banner at once.
  else console.log(banner.join('\n'));
}

async function migrate(config: SevaConfig, catalog: readonly ModuleDef<any>[]): Promise<void> {
  const plan = planForConfig(config, catalog);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const applied = await runMigrations(database, migrationSets(plan));
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await database.close();
  }
}

/**
 * The demo data when asked, then each module's bootstrap (the first administrator of an empty
 * database), as the `seed` actor. Returns the credentials to print once.
 */
async function prepareData(runtime: Pick<Runtime, 'plan' | 'contextFor'>, config: SevaConfig, demo: boolean): Promise<Array<{ label: string; value: string }>> {
  const credentials: Array<{ label: string; value: string }> = [];
  const ctxFor = (module: string, purpose: string) => runtime.contextFor(module, systemActor('seed'), purpose);
  for (const def of runtime.plan.local) {
    if (demo && def.seedDemo) credentials.push(...((await def.seedDemo(ctxFor(def.name, 'seed-demo'), config))?.credentials ?? []));
  }
  for (const def of runtime.plan.local) {
    if (def.bootstrap) credentials.push(...((await def.bootstrap(ctxFor(def.name, 'bootstrap'), config))?.credentials ?? []));
  }
  return credentials;
}

function credentialLines(credentials: Array<{ label: string; value: string }>, runtime: Pick<Runtime, 'plan'>): string[] {
  if (credentials.length > 0) return ['  sign-in (shown this once):', ...credentials.map((c) => `    ${c.label}: ${c.value}`)];
  if (runtime.plan.local.some((m) => m.bootstrap)) return ['  sign-in: the accounts printed on first start (`npm run seva -- seed --demo` issues new demo passwords)'];
  return [];
}

/** Boot failures print one line naming the cause and exit 1; no stack trace for expected ones. */
async function guard(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const message = err instanceof SevaBootError ? err.message : `failed: ${(err as Error).message ?? String(err)}`;
    process.stderr.write(`seva: ${message}\n`);
    process.exit(1);
  }
}
