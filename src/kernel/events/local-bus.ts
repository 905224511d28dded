import type { Kysely } from 'kysely';
import type { Logger } from '../log/logger.js';
import { notifyListeners, PumpLoop, RELAY_GAP_MS, type BusStats, type EventBus, type RegisteredListener } from './bus.js';
import { deliverBatch, runDueRetries, type RegisteredConsumer } from './delivery.js';
import { markPublished, toEvent, unpublished } from './outbox.js';

/**
 * The embedded shape: this process reads its own outbox and hands each event to the local
 * consumers, then marks it published and tells the local listeners. Events reach only consumers
 * and listeners in this process, so running several processes needs NATS (the runtime says so at boot).
 */
export class LocalEventBus implements EventBus {
  readonly kind = 'local' as const;
  readonly stats: BusStats = { published: 0, delivered: 0, duplicates: 0, failed: 0 };
  private readonly pump: PumpLoop;
  private readonly retries: PumpLoop;

  constructor(
    private readonly db: Kysely<any>,
    private readonly consumers: readonly RegisteredConsumer[],
    private readonly log: Logger,
    private readonly batchSize = 500,
    private readonly listeners: readonly RegisteredListener[] = [],
  ) {
    // Every local commit wakes the pump; the idle poll is only a safety net.
    this.pump = new PumpLoop('outbox', () => this.pumpOnce(), log, 2000, RELAY_GAP_MS);
    this.retries = new PumpLoop('retries', () => runDueRetries(this.db, this.consumers), log, 1000);
  }

  async start(): Promise<void> {
    this.pump.start();
    if (this.consumers.length > 0) this.retries.start();
  }

  wake(): void {
    this.pump.wake();
  }

  async stop(): Promise<void> {
    await Promise.all([this.pump.stop(), this.retries.stop()]);
  }

  /** One batch: deliver to every interested consumer, then mark the batch published. */
  async pumpOnce(): Promise<number> {
    const rows = await unpublished(this.db, this.batchSize);
    if (rows.length === 0) return 0;
    const events = rows.map(toEvent);
    for (const consumer of this.consumers) {
      const wanted = events.filter((e) => consumer.events.has(e.name));
      const result = await deliverBatch(this.db, consumer, wanted);
      this.stats.delivered += result.processed;
      this.stats.duplicates += result.duplicates;
      this.stats.failed += result.failed;
    }
    await markPublished(this.db, rows.map((r) => Number(r.seq)));
    this.stats.published += rows.length;
    await notifyListeners(this.listeners, events, this.log);
    return rows.length;
  }
}
