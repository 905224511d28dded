import type { Kysely } from 'kysely';
import type { JsMsg, NatsConnection } from 'nats';
import { SevaBootError } from '../errors/boot-error.js';
import type { Logger } from '../log/logger.js';
import { notifyListeners, PumpLoop, RELAY_GAP_MS, type BusStats, type EventBus, type RegisteredListener } from './bus.js';
import { deliverBatch, runDueRetries, type RegisteredConsumer } from './delivery.js';
import { markPublished, toEvent, type OutboxRow } from './outbox.js';
import type { SevaEvent } from './types.js';

export interface NatsBusOptions {
  url: string;
  /** Separates deployments (and test runs) sharing one NATS server: stream `<NS>_EVENTS`, subjects `<ns>.events.>`. */
  namespace: string;
  batchSize?: number;
  /** Hear every event of their names in this process, through plain (non-durable) subscriptions. */
  listeners?: readonly RegisteredListener[];
}

// Loaded on start only: processes without NATS_URL never load the client.
let nats: typeof import('nats');
const codec = {
  encode: (event: SevaEvent) => new TextEncoder().encode(JSON.stringify(event)),
  decode: (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data)) as SevaEvent,
};

/** JetStream's error code for a stream name taken by a stream of another configuration. */
const STREAM_NAME_IN_USE = 10058;
const STREAM_ATTEMPTS = 3;

/**
 * Creates the stream, or updates it when one of that name exists with another configuration.
 * Any other failure (the API timing out on a busy server) is retried, and reported as itself if
 * it persists: updating after it used to fail with "stream not found", which hid the cause.
 */
async function ensureStream(jsm: import('nats').JetStreamManager, stream: Parameters<import('nats').JetStreamManager['streams']['add']>[0] & { name: string }): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await jsm.streams.add(stream);
      return;
    } catch (err) {
      if ((err as { api_error?: { err_code?: number } }).api_error?.err_code === STREAM_NAME_IN_USE) {
        await jsm.streams.update(stream.name, stream);
        return;
      }
      if (attempt >= STREAM_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

/**
 * The distributed shape: every process relays its database's outbox to JetStream (the event id is
 * the message id, so a batch published twice after a crash is dropped by the server) and pulls
 * the events its local consumers want from durable consumers shared by all replicas.
 */
export class NatsEventBus implements EventBus {
  readonly kind = 'nats' as const;
  readonly stats: BusStats = { published: 0, delivered: 0, duplicates: 0, failed: 0 };
  private nc: NatsConnection | undefined;
  private readonly relay: PumpLoop;
  private readonly retries: PumpLoop;
  private readonly workers: Array<{ stop(): Promise<void> }> = [];
  private readonly batchSize: number;

  constructor(
    private readonly db: Kysely<any>,
    private readonly consumers: readonly RegisteredConsumer[],
    private readonly log: Logger,
    private readonly options: NatsBusOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.relay = new PumpLoop('nats-relay', () => this.relayOnce(), log, 250, RELAY_GAP_MS);
    this.retries = new PumpLoop('retries', () => runDueRetries(this.db, this.consumers), log, 1000);
  }

  get streamName(): string {
    return `${this.options.namespace.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}_EVENTS`;
  }

  subject(eventName: string): string {
    return `${this.options.namespace}.events.${eventName}`;
  }

  async start(): Promise<void> {
    nats ??= await import('nats');
    const { connect, nanos } = nats;
    try {
      this.nc = await connect({ servers: this.options.url, name: 'seva', maxReconnectAttempts: -1 });
    } catch (err) {
      throw new SevaBootError(`cannot reach NATS at ${this.options.url}: ${(err as Error).message}`);
    }
    const jsm = await this.nc.jetstreamManager();
    const stream = {
      name: this.streamName,
      subjects: [`${this.options.namespace}.events.>`],
      duplicate_window: nanos(120_000),
      max_age: nanos(7 * 24 * 3600 * 1000),
    };
    await ensureStream(jsm, stream);
    // One durable per consumer and event name: a single filter subject works on every JetStream
    // server (filter_subjects needs 2.10+), and replicas of a module share each durable.
    for (const consumer of this.consumers) {
      for (const eventName of consumer.events) this.workers.push(await this.startConsumer(consumer, eventName));
    }
    this.startListeners();
    this.relay.start();
    if (this.consumers.length > 0) this.retries.start();
  }

  wake(): void {
    this.relay.wake();
  }

  async stop(): Promise<void> {
    await this.relay.stop();
    await this.retries.stop();
    await Promise.all(this.workers.map((w) => w.stop()));
    await this.nc?.drain().catch(() => {});
  }

  /** Publishes one batch of unpublished outbox rows, holding their row locks until marked. */
  async relayOnce(): Promise<number> {
    const js = this.nc!.jetstream();
    return this.db.transaction().execute(async (trx) => {
      const rows = (await trx
        .selectFrom('kernel.outbox')
        .selectAll()
        .where('published_at', 'is', null)
        .orderBy('seq')
        .limit(this.batchSize)
        .forUpdate()
        .skipLocked()
        .execute()) as OutboxRow[];
      if (rows.length === 0) return 0;
      // The client builds a timeout error with a stack trace for every publish, which costs more
      // than the publish; the requests are created synchronously here, so no stack is captured.
      const stackTraceLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      let acks: Array<Promise<unknown>>;
      try {
        acks = rows.map((row) => js.publish(this.subject(row.name), codec.encode(toEvent(row)), { msgID: row.id }));
      } finally {
        Error.stackTraceLimit = stackTraceLimit;
      }
      await Promise.all(acks);
      await markPublished(trx, rows.map((r) => Number(r.seq)));
      this.stats.published += rows.length;
      return rows.length;
    });
  }

  /**
   * A JetStream publish is also a plain NATS message on its subject, so a core subscription per
   * process hears every event once it is relayed (after commit), without a durable to clean up.
   */
  private startListeners(): void {
    const listeners = this.options.listeners ?? [];
    const names = new Set(listeners.flatMap((l) => [...l.events]));
    for (const name of names) {
      this.nc!.subscribe(this.subject(name), {
        callback: (err, msg) => {
          if (err) return this.log.warn({ err, event: name }, 'event listener subscription failed');
          let event: SevaEvent;
          try {
            event = codec.decode(msg.data);
          } catch {
            return;
          }
          void notifyListeners(listeners, [event], this.log);
        },
      });
    }
  }

  private async startConsumer(consumer: RegisteredConsumer, eventName: string): Promise<{ stop(): Promise<void> }> {
    const { AckPolicy, DeliverPolicy, nanos } = nats;
    const nc = this.nc!;
    const jsm = await nc.jetstreamManager();
    const durable = `${consumer.key}__${eventName}`.replace(/[^A-Za-z0-9_-]/g, '_');
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      // Short, so a batch held by a killed replica comes back quickly; handlers are idempotent anyway.
      ack_wait: nanos(10_000),
      max_ack_pending: 5000,
      filter_subject: this.subject(eventName),
    };
    await jsm.consumers.add(this.streamName, config).catch(async () => jsm.consumers.update(this.streamName, durable, config));
    const messages = await (await nc.jetstream().consumers.get(this.streamName, durable)).consume({ max_messages: 1000 });
    const buffer: JsMsg[] = [];
    const pump = new PumpLoop(`consumer ${consumer.key}`, async () => {
      const batch = buffer.splice(0, this.batchSize);
      if (batch.length === 0) return 0;
      const events: SevaEvent[] = [];
      const decoded: JsMsg[] = [];
      for (const m of batch) {
        try {
          events.push(codec.decode(m.data));
          decoded.push(m);
        } catch {
          // Not one of ours (or corrupt): redelivering it forever would block the consumer.
          this.log.error({ consumer: consumer.key, subject: m.subject, seq: m.seq }, 'dropping an undecodable event message');
          m.term();
        }
      }
      try {
        const result = await deliverBatch(this.db, consumer, events);
        this.stats.delivered += result.processed;
        this.stats.duplicates += result.duplicates;
        this.stats.failed += result.failed;
        for (const m of decoded) m.ack();
      } catch (err) {
        // The database is unreachable: let JetStream redeliver the batch later.
        for (const m of decoded) m.nak(2000);
        throw err;
      }
      return batch.length;
    }, this.log, 500);
    pump.start();
    void (async () => {
      for await (const m of messages) {
        buffer.push(m);
        pump.wake();
      }
    })().catch((err) => this.log.error({ err, consumer: consumer.key }, 'event subscription ended'));
    return {
      stop: async () => {
        await messages.close();
        await pump.stop();
        // Handed back at once rather than after ack_wait, so another replica takes them.
        for (const m of buffer.splice(0)) m.nak();
      },
    };
  }
}
