import type { PGlite } from '@electric-sql/pglite';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SevaConfig } from './config/schema.js';
import { KeyRing } from './crypto/envelope.js';
import { loadOrCreateMasterKeyFile, parseMasterKey } from './crypto/master-key.js';
import { openDatabase, ping, type Database } from './db/database.js';
import { runMigrations, type MigrationSet } from './db/migrations.js';
import { SevaBootError } from './errors/boot-error.js';
import { KernelErrors } from './errors/seva-error.js';
import { PumpLoop, type EventBus, type RegisteredListener } from './events/bus.js';
import { AUDIT_SEAL_GAP_MS, sealAudit } from './audit/audit-log.js';
import type { SevaEvent } from './events/types.js';
import type { RegisteredConsumer } from './events/delivery.js';
import { LocalEventBus } from './events/local-bus.js';
import { NatsEventBus } from './events/nats-bus.js';
import { claimRelay, relayOf } from './events/relay-claim.js';
import { remoteAccessTokenVerifier, TOKEN_ISSUER_MODULE } from './http/jwt-verifier.js';
import { Metrics } from './http/metrics.js';
import { MemoryRateLimiter, type RateLimiter } from './limits/rate-limiter.js';
import { RedisRateLimiter } from './limits/redis-rate-limiter.js';
import { buildHttpServer } from './http/server.js';
import { JobQueue } from './jobs/queue.js';
import { kernelMigrations } from './kernel-migrations.js';
import { createLogger, type Logger } from './log/logger.js';
import { ANONYMOUS, systemActor, type Actor } from './modules/actor.js';
import { ModuleClient } from './modules/client.js';
import { createContext, txContext, type ContextServices } from './modules/context.js';
import type { ModuleDef, ModuleRuntime, OperationContext } from './modules/define.js';
import { InternalTokens } from './modules/internal-token.js';
import { planModules, type ModulePlan } from './modules/registry.js';
import { systemModule } from './system/module.js';

export interface StartOptions {
  config: SevaConfig;
  /** Every module this build knows; the config selects which run here. */
  catalog: readonly ModuleDef[];
  log?: Logger;
  /** An open PGlite to use instead of opening the data folder (tests). */
  pglite?: PGlite;
  /** Bind the HTTP port (default true); false keeps the server for `inject` only. */
  listen?: boolean;
  /**
   * Runs when everything is up but before the port opens (data a fresh database needs, such as
   * the first administrator): `/health/ready` never answers before it is done.
   */
  beforeListen?(prepared: { plan: ModulePlan; contextFor: Runtime['contextFor']; appliedMigrations: readonly string[] }): Promise<void>;
  /**
   * On a database that has the job queue, how long after the port opens the job workers start
   * (default 0). Their start is a few dozen queries, which on the embedded engine hold the one
   * thread that serves requests; the CLI lets the first requests through first.
   */
  startJobsAfterMs?: number;
}

export interface Runtime {
  config: SevaConfig;
  log: Logger;
  database: Database;
  plan: ModulePlan;
  http: FastifyInstance;
  bus: EventBus;
  jobs: JobQueue;
  /** Base URL the server listens on (when listening). */
  url: string;
  /** Migrations applied by this start; a fresh database lists the kernel's first one. */
  appliedMigrations: string[];
  timings: Record<string, number>;
  contextFor(module: string, actor: Actor, requestId?: string): OperationContext;
  /** A short-lived `x-seva-actor` token for calls into this deployment as `actor` (tools, tests). */
  internalToken(actor: Actor): Promise<string>;
  stop(): Promise<void>;
}

/** Boots one Seva process: config is already valid; each step fails with one clear line. */
export async function startRuntime(options: StartOptions): Promise<Runtime> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  const mark = (step: string) => (timings[step] = Math.round(performance.now() - started));
  const { config } = options;
  const log = options.log ?? createLogger({ level: config.logLevel });
  const plan = planForConfig(config, options.catalog);
  const masterKey = resolveMasterKey(config);
  const tokens = new InternalTokens(masterKey);

  // The HTTP server is built while the database opens: neither needs the other until requests.
  let services: ContextServices | undefined;
  let bus: EventBus | undefined;
  let stopping = false;
  const contextFor = (module: string, actor: Actor, requestId = `internal-${Date.now().toString(36)}`) => {
    if (!services) throw KernelErrors.notReady('The platform is still starting');
    return createContext(services, module, actor, requestId);
  };
  // Connected while the database opens; awaited before serving, so a bad REDIS_URL stops the boot.
  const limiterReady: Promise<RateLimiter> = config.redisUrl
    ? RedisRateLimiter.connect(config.redisUrl, config.eventsNamespace, log)
    : Promise.resolve(new MemoryRateLimiter());
  limiterReady.catch(() => {});
  const rateLimiter: RateLimiter = {
    kind: config.redisUrl ? 'redis' : 'memory',
    take: async (rules, now) => (await limiterReady).take(rules, now),
    ping: async () => (await limiterReady).ping(),
    close: async () => (await limiterReady).close(),
  };
  // One stable runtime handle per module for its `authenticate` hook (it may cache keys on it).
  const authRuntimes: Map<string, ModuleRuntime> = new Map(
    plan.local.map((m): [string, ModuleRuntime] => [
      m.name,
      { config, context: (actor: Actor, requestId: string) => contextFor(m.name, actor, requestId), authenticate: (request) => authenticateRequest(request), rateLimiter },
    ]),
  );
  const authenticateRequest = (request: FastifyRequest): Promise<Actor> => authenticate(request, plan, tokens, authRuntimes, remoteVerifier);
  // Where the token issuer runs elsewhere, bearer tokens are verified here against its JWKS.
  const issuerUrl = plan.local.some((m) => m.name === TOKEN_ISSUER_MODULE) ? undefined : plan.remote.get(TOKEN_ISSUER_MODULE);
  const remoteVerifier = issuerUrl ? remoteAccessTokenVerifier(issuerUrl) : undefined;
  const httpBuilt = buildHttpServer({
    config,
    log,
    modules: plan.local,
    metrics: new Metrics(() => bus?.stats),
    tokens,
    contextFor,
    db: () => {
      if (!services) throw KernelErrors.notReady('The platform is still starting');
      return services.database.db;
    },
    authenticate: authenticateRequest,
    rateLimiter,
    readiness: async () => {
      const checks: Record<string, string> = {
        migrations: services ? 'ok' : 'pending',
        events: bus?.kind ?? 'starting',
        jobs: services?.jobs.status ?? 'starting',
      };
      try {
        if (!services) throw new Error('not open yet');
        await ping(services.database);
        checks.database = 'ok';
      } catch (err) {
        checks.database = (err as Error).message;
      }
      // Shown, not gating: without Redis the limits fail open and the API still serves.
      if (config.redisUrl) checks.redis = (await rateLimiter.ping().catch(() => false)) ? 'ok' : 'down';
      if (stopping) checks.shutdown = 'in progress';
      return { ready: checks.database === 'ok' && !!bus && !stopping, checks };
    },
  });
  // Awaited once the database is up; until then a failure must not count as unhandled.
  httpBuilt.catch(() => {});
  const cleanup: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const step of cleanup.reverse()) await step().catch((err) => log.warn({ err }, 'shutdown step failed'));
  };
  try {
    // Closed last, whether or not it connected.
    cleanup.push(() => limiterReady.then((limiter) => limiter.close(), () => {}));
    const database = await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      pglite: options.pglite,
      poolSize: config.databasePoolSize,
      preparedStatements: config.databasePreparedStatements,
    });
    cleanup.push(() => database.close());
    await limiterReady;
    mark('database');
    const appliedMigrations = await runMigrations(database, migrationSets(plan));
    mark('migrations');

    // Links committed audit entries into the hash chain, woken by every audited commit, at most
    // one round per AUDIT_SEAL_GAP_MS so that a busy server seals many entries per round.
    const auditSealer = new PumpLoop('audit-seal', () => sealAudit(database.db, undefined, { wait: false }), log, 1000, AUDIT_SEAL_GAP_MS);
    auditSealer.start();
    cleanup.push(() => auditSealer.stop());

    const jobs = new JobQueue(database, log);
    const client = new ModuleClient(plan, tokens, contextFor);
    services = {
      config,
      database,
      log,
      masterKey,
      keyRing: new KeyRing(database.db, masterKey),
      jobs,
      wakeEvents: () => bus?.wake(),
      wakeAudit: () => auditSealer.wake(),
      publishes: new Map(plan.local.map((m) => [m.name, new Set(m.events?.publishes ?? [])])),
      call: (ctx, module, operation, input) => client.call(ctx, module, operation, input),
    };

    const relayClaim = await claimRelay(database.db, relayOf(config.natsUrl ? config.eventsNamespace : undefined), log);
    cleanup.push(() => relayClaim.release());
    const consumers = registerConsumers(plan, services);
    const listeners = registerListeners(plan);
    const eventBus: EventBus = config.natsUrl
      ? new NatsEventBus(database.db, consumers, log, { url: config.natsUrl, namespace: config.eventsNamespace, listeners })
      : new LocalEventBus(database.db, consumers, log, undefined, listeners);
    if (!config.natsUrl && config.modules.trim() !== 'all' && config.databaseUrl) {
      log.warn('events reach only consumers in this process: set NATS_URL when modules run in several processes');
    }
    cleanup.push(() => eventBus.stop(), () => jobs.stop());
    // A new database installs the job queue before serving; one that has it starts the workers
    // once the port is open (see `startJobsAfterMs`), and sends work meanwhile.
    const registrations = jobRegistrations(plan, contextFor);
    const startJobsLater = await jobs.installed(registrations);
    if (startJobsLater) await eventBus.start();
    else await Promise.all([eventBus.start(), jobs.start(registrations)]);
    bus = eventBus;
    mark('events and jobs');

    if (options.beforeListen) await options.beforeListen({ plan, contextFor, appliedMigrations });
    mark('prepared');
    const http = await httpBuilt;
    cleanup.push(async () => {
      stopping = true;
      // In-flight requests get half the shutdown budget; then their connections are cut (a
      // client that stopped reading a download would otherwise hold the close for the whole
      // keep-alive timeout, 72 s, and the process would be killed mid-shutdown).
      const cut = setTimeout(() => http.server.closeAllConnections(), Math.floor(config.shutdownTimeoutMs / 2));
      await http.close();
      clearTimeout(cut);
    });
    let url = '';
    if (options.listen !== false) {
      url = await http.listen({ port: config.port, host: config.host }).catch((err: NodeJS.ErrnoException) => {
        throw new SevaBootError(
          err.code === 'EADDRINUSE' ? `port ${config.port} on ${config.host} is already in use; set PORT` : `cannot listen on ${config.host}:${config.port}: ${err.message}`,
        );
      });
    } else await http.ready();
    mark('ready');
    if (startJobsLater) {
      const startJobs = () => {
        if (!stopping) jobs.start(registrations).catch((err) => log.error({ err }, 'the job queue did not start'));
      };
      if (options.startJobsAfterMs) setTimeout(startJobs, options.startJobsAfterMs).unref();
      else startJobs();
    }

    let stopped: Promise<void> | undefined;
    return {
      config,
      log,
      database,
      plan,
      http,
      bus: eventBus,
      jobs,
      url,
      appliedMigrations,
      timings,
      contextFor,
      internalToken: (actor) => tokens.sign(actor, 'internal'),
      stop: () => (stopped ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    await httpBuilt.then((http) => http.close()).catch(() => {});
    throw err;
  }
}

/** The module plan of this process: the kernel's system module always runs. */
export function planForConfig(config: SevaConfig, catalog: readonly ModuleDef[]): ModulePlan {
  return planModules([systemModule, ...catalog], withSystem(config.modules), config.moduleUrls);
}

export function migrationSets(plan: ModulePlan): MigrationSet[] {
  return [kernelMigrations, ...plan.local.filter((m) => m.migrations?.length).map((m) => ({ owner: m.name, migrations: m.migrations! }))];
}

function jobRegistrations(plan: ModulePlan, contextFor: (module: string, actor: Actor, requestId: string) => OperationContext) {
  return plan.local.flatMap((m) =>
    Object.entries(m.jobs ?? {}).map(([name, job]) => ({
      name: `${m.name}.${name}`,
      schedule: job.schedule,
      handler: (data: Record<string, unknown>, jobId: string) => job.handler(contextFor(m.name, systemActor(`job:${m.name}.${name}`), `job-${jobId}`), data),
    })),
  );
}

function withSystem(selection: string): string {
  return selection.trim() === 'all' ? 'all' : `system,${selection}`;
}

export function resolveMasterKey(config: SevaConfig): Buffer {
  if (config.masterKey) return parseMasterKey(config.masterKey);
  if (config.databaseUrl) throw new SevaBootError('SEVA_MASTER_KEY is required when DATABASE_URL is set (32 bytes, base64 or hex)');
  if (config.dataDir.startsWith('memory://')) return parseMasterKey(Buffer.alloc(32, 7).toString('base64'));
  return loadOrCreateMasterKeyFile(config.dataDir);
}

function registerConsumers(plan: ModulePlan, services: ContextServices): RegisteredConsumer[] {
  return plan.local.flatMap((m) =>
    Object.entries(m.events?.consumers ?? {}).map(([name, consumer]) => ({
      key: `${m.name}.${name}`,
      module: m.name,
      events: new Set(consumer.events),
      maxAttempts: consumer.maxAttempts ?? 8,
      run: (event, trx) => {
        const actor = systemActor(`consumer:${m.name}.${name}`, event.tenantId ?? undefined);
        const requestId = event.requestId ?? `event-${event.id}`;
        // deliverBatch runs this inside its transaction scope, so nested ctx.transaction calls join it.
        return consumer.handler(createContext(services, m.name, actor, requestId), event, txContext(services, m.name, actor, requestId, trx));
      },
    })),
  );
}

function registerListeners(plan: ModulePlan): RegisteredListener[] {
  return plan.local.flatMap((m) =>
    Object.entries(m.events?.listeners ?? {}).map(([name, listener]) => ({
      key: `${m.name}.${name}`,
      events: new Set(listener.events),
      run: (event: SevaEvent) => listener.handler(event),
    })),
  );
}

async function authenticate(
  request: FastifyRequest,
  plan: ModulePlan,
  tokens: InternalTokens,
  runtimes: ReadonlyMap<string, ModuleRuntime>,
  remoteVerifier?: (token: string) => Promise<Actor | undefined>,
): Promise<Actor> {
  const internal = request.headers['x-seva-actor'];
  if (typeof internal === 'string') {
    const verified = await tokens.verify(internal);
    if (!verified) throw KernelErrors.unauthenticated('The x-seva-actor token is not valid');
    return verified.actor;
  }
  const header = request.headers.authorization;
  if (!header) return ANONYMOUS;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw KernelErrors.unauthenticated('The Authorization header must be "Bearer <token>"');
  for (const def of plan.local) {
    const actor = await def.authenticate?.(match[1]!, runtimes.get(def.name)!);
    if (actor) return actor;
  }
  const remote = await remoteVerifier?.(match[1]!);
  if (remote) return remote;
  throw KernelErrors.unauthenticated('The access token is not valid or has expired');
}
