import { createRequire } from 'node:module';
import type PgBoss from 'pg-boss';
import type { Database } from '../db/database.js';
import type { Logger } from '../log/logger.js';

export interface JobHandlerRegistration {
  /** `<module>.<job>`; also the queue name. */
  name: string;
  schedule?: string | undefined;
  handler(data: Record<string, unknown>, jobId: string): Promise<void>;
}

export interface SendOptions {
  startAfterSeconds?: number | undefined;
  singletonKey?: string | undefined;
  /** Sends inside this SQL executor (a transaction), so the job commits with the change. */
  executeSql?: ((text: string, values?: unknown[]) => Promise<{ rows: any[] }>) | undefined;
}

/**
 * Jobs and timers on pg-boss in the same database (PGlite or PostgreSQL). Failed jobs retry with
 * exponential backoff; scheduled jobs run once per schedule across all processes.
 */
export class JobQueue {
  private bossInstance: PgBoss | undefined;
  private started = false;
  private starting: Promise<void> | undefined;
  /** Settles once the pg-boss object exists (no database work needed for that). */
  private created: Promise<PgBoss> | undefined;
  /** `ok` once workers run. */
  status: 'stopped' | 'starting' | 'ok' | 'failed' = 'stopped';

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
  ) {}

  private get boss(): PgBoss {
    if (!this.bossInstance) throw new Error('the job queue has not been started');
    return this.bossInstance;
  }

  /**
   * Whether the queue's tables, at the schema version this pg-boss expects, and a queue for every
   * job already exist: then jobs can be sent (inside a transaction too) before the workers start.
   */
  async installed(jobs: readonly JobHandlerRegistration[]): Promise<boolean> {
    try {
      const present = await this.database.executeSql(`select to_regclass('kernel_jobs.version') is not null as present`);
      if (!present.rows[0]?.present) return false;
      const version = await this.database.executeSql('select version from kernel_jobs.version limit 1');
      const expected = (createRequire(import.meta.url)('pg-boss/version.json') as { schema: number }).schema;
      if (Number(version.rows[0]?.version) !== expected) return false;
      const names = jobs.map((j) => j.name);
      if (names.length === 0) return true;
      const queues = await this.database.executeSql('select count(*)::int as n from kernel_jobs.queue where name = any($1)', [names]);
      return Number(queues.rows[0]?.n) === names.length;
    } catch {
      return false;
    }
  }

  start(jobs: readonly JobHandlerRegistration[]): Promise<void> {
    this.status = 'starting';
    this.starting = this.startWorkers(jobs).then(
      () => void (this.status = 'ok'),
      (err) => {
        this.status = 'failed';
        throw err;
      },
    );
    return this.starting;
  }

  private async startWorkers(jobs: readonly JobHandlerRegistration[]): Promise<void> {
    // Loaded on start (or first send), not at import: commands that never use the queue do not pay for it.
    this.created ??= this.create();
    await this.created;
    await this.boss.start();
    this.started = true;
    // What exists is read once, so a start on an existing database writes nothing it already has
    // (each of these is a statement on the one connection the embedded engine has).
    const queues = new Set((await this.boss.getQueues()).map((q) => q.name));
    // Rows of the schedule table: `timezone` is a column there, though pg-boss's type leaves it out.
    const schedules = new Map((await this.boss.getSchedules()).map((s) => [s.name, s as PgBoss.Schedule & { timezone?: string }]));
    for (const job of jobs) {
      if (!queues.has(job.name)) await this.boss.createQueue(job.name, { name: job.name, retryLimit: 5, retryDelay: 5, retryBackoff: true });
      await this.boss.work<Record<string, unknown>>(job.name, { pollingIntervalSeconds: 2, batchSize: 20 }, async (batch) => {
        for (const item of batch) {
          try {
            await job.handler(item.data ?? {}, item.id);
          } catch (err) {
            // Only this job goes to retry; the rest of the batch completes.
            this.log.warn({ err, job: job.name, jobId: item.id }, 'job failed');
            await this.boss.fail(job.name, item.id, { message: (err as Error).message });
          }
        }
      });
      const scheduled = schedules.get(job.name);
      if (job.schedule) {
        if (scheduled?.cron !== job.schedule || scheduled.timezone !== 'UTC') await this.boss.schedule(job.name, job.schedule, {}, { tz: 'UTC' });
      } else if (scheduled) await this.boss.unschedule(job.name).catch(() => {});
    }
  }

  private async create(): Promise<PgBoss> {
    const { default: PgBossClass } = await import('pg-boss');
    const database = this.database;
    this.bossInstance = new PgBossClass({
      db: { executeSql: (text: string, values?: unknown[]) => database.executeSql(text, values) },
      schema: 'kernel_jobs',
      supervise: true,
      schedule: true,
      migrate: true,
    } as PgBoss.ConstructorOptions);
    this.bossInstance.on('error', (err) => this.log.error({ err }, 'job queue error'));
    return this.bossInstance;
  }

  async send(name: string, data: Record<string, unknown>, options: SendOptions = {}): Promise<string | null> {
    // Inside a transaction, waiting for the workers' start could wait for the very connection the
    // transaction holds (PGlite has one): a send needs only the tables, which exist by then.
    // Before the workers start (they start after the port opens), a send needs only the instance.
    this.created ??= this.create();
    if (options.executeSql || !this.starting) await this.created;
    else await this.starting;
    const sendOptions: PgBoss.SendOptions = {};
    if (options.startAfterSeconds !== undefined) sendOptions.startAfter = options.startAfterSeconds;
    if (options.singletonKey !== undefined) sendOptions.singletonKey = options.singletonKey;
    if (options.executeSql) sendOptions.db = { executeSql: options.executeSql } as PgBoss.Db;
    return this.boss.send(name, data, sendOptions);
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => {});
    if (!this.started) return;
    this.started = false;
    await this.boss.stop({ graceful: true, wait: true, timeout: 5000 });
  }
}
