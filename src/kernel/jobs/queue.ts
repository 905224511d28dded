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
    // Loaded on start, not at import: commands that never start the queue do not pay for it.
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
    await this.boss.start();
    this.started = true;
    for (const job of jobs) {
      await this.boss.createQueue(job.name, { name: job.name, retryLimit: 5, retryDelay: 5, retryBackoff: true });
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
      if (job.schedule) await this.boss.schedule(job.name, job.schedule, {}, { tz: 'UTC' });
      else await this.boss.unschedule(job.name).catch(() => {});
    }
  }

  async send(name: string, data: Record<string, unknown>, options: SendOptions = {}): Promise<string | null> {
    await this.starting;
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
