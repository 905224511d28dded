import { sql, type Kysely, type Transaction } from 'kysely';
import { newId } from '../crypto/ids.js';
import { inTransaction } from '../db/transaction-scope.js';
import type { SevaEvent } from './types.js';

/** A consumer as the event buses see it: a key, the names it wants, and how to run it in a transaction. */
export interface RegisteredConsumer {
  /** `<module>.<consumer>`; also the idempotency scope. */
  key: string;
  module: string;
  events: ReadonlySet<string>;
  maxAttempts: number;
  run(event: SevaEvent, trx: Transaction<any>): Promise<void>;
}

export interface DeliveryResult {
  processed: number;
  duplicates: number;
  failed: number;
}

/**
 * Delivers a batch to one consumer. Each event is marked processed in the same transaction as
 * the handler's writes, so a redelivered event is skipped and a crash loses nothing. The fast
 * path runs the whole batch in one transaction; if any handler fails, the batch is replayed one
 * event at a time behind savepoints so that only the failing event goes to retry.
 */
export async function deliverBatch(db: Kysely<any>, consumer: RegisteredConsumer, events: SevaEvent[]): Promise<DeliveryResult> {
  if (events.length === 0) return { processed: 0, duplicates: 0, failed: 0 };
  try {
    return await inTransaction(db, async (trx) => {
      const fresh = await markProcessed(trx, consumer.key, events);
      for (const event of fresh) await consumer.run(event, trx);
      return { processed: fresh.length, duplicates: events.length - fresh.length, failed: 0 };
    });
  } catch {
    return deliverOneByOne(db, consumer, events);
  }
}

async function deliverOneByOne(db: Kysely<any>, consumer: RegisteredConsumer, events: SevaEvent[]): Promise<DeliveryResult> {
  const result: DeliveryResult = { processed: 0, duplicates: 0, failed: 0 };
  await inTransaction(db, async (trx) => {
    for (const event of events) {
      await sql`savepoint seva_delivery`.execute(trx);
      try {
        const fresh = await markProcessed(trx, consumer.key, [event]);
        if (fresh.length === 0) result.duplicates++;
        else {
          await consumer.run(event, trx);
          result.processed++;
        }
        await sql`release savepoint seva_delivery`.execute(trx);
      } catch (err) {
        await sql`rollback to savepoint seva_delivery`.execute(trx);
        await recordFailure(trx, consumer, event, 1, err);
        result.failed++;
      }
    }
  });
  return result;
}

async function markProcessed(trx: Kysely<any>, consumer: string, events: SevaEvent[]): Promise<SevaEvent[]> {
  const rows = await trx
    .insertInto('kernel.processed_events')
    .values(events.map((e) => ({ consumer, event_id: e.id })))
    .onConflict((oc) => oc.doNothing())
    .returning('event_id')
    .execute();
  const fresh = new Set(rows.map((r) => r.event_id as string));
  return events.filter((e) => fresh.has(e.id));
}

/** Exponential backoff with jitter: 1 s, 2 s, 4 s … capped at 5 minutes. */
export function backoffMs(attempt: number): number {
  const base = Math.min(300_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

async function recordFailure(trx: Kysely<any>, consumer: RegisteredConsumer, event: SevaEvent, attempts: number, err: unknown): Promise<void> {
  const lastError = describe(err);
  if (attempts >= consumer.maxAttempts) {
    await trx.deleteFrom('kernel.event_retries').where('consumer', '=', consumer.key).where('event_id', '=', event.id).execute();
    await trx
      .insertInto('kernel.dead_letters')
      .values({ id: newId('dlq'), consumer: consumer.key, event_id: event.id, event: JSON.stringify(event), attempts, last_error: lastError })
      .onConflict((oc) => oc.columns(['consumer', 'event_id']).doUpdateSet({ attempts, last_error: lastError, failed_at: new Date(), resolved_at: null }))
      .execute();
    return;
  }
  const next = new Date(Date.now() + backoffMs(attempts));
  await trx
    .insertInto('kernel.event_retries')
    .values({ consumer: consumer.key, event_id: event.id, event: JSON.stringify(event), attempts, next_attempt_at: next, last_error: lastError })
    .onConflict((oc) => oc.columns(['consumer', 'event_id']).doUpdateSet({ attempts, next_attempt_at: next, last_error: lastError }))
    .execute();
}

/** Runs the retries that are due for these consumers; returns how many were attempted. */
export async function runDueRetries(db: Kysely<any>, consumers: readonly RegisteredConsumer[], limit = 100): Promise<number> {
  if (consumers.length === 0) return 0;
  const byKey = new Map(consumers.map((c) => [c.key, c]));
  const due = await db
    .selectFrom('kernel.event_retries')
    .select(['consumer', 'event_id', 'event', 'attempts'])
    .where('consumer', 'in', [...byKey.keys()])
    .where('next_attempt_at', '<=', new Date())
    .orderBy('next_attempt_at')
    .limit(limit)
    .execute();
  for (const row of due) {
    const consumer = byKey.get(row.consumer as string)!;
    const event = (typeof row.event === 'string' ? JSON.parse(row.event) : row.event) as SevaEvent;
    const attempts = Number(row.attempts) + 1;
    try {
      await inTransaction(db, async (trx) => {
        // Deleting the row claims it: a second process retrying the same row deletes nothing.
        const claimed = await trx
          .deleteFrom('kernel.event_retries')
          .where('consumer', '=', consumer.key)
          .where('event_id', '=', event.id)
          .where('attempts', '=', Number(row.attempts))
          .executeTakeFirst();
        if (Number(claimed.numDeletedRows) === 0) return;
        const fresh = await markProcessed(trx, consumer.key, [event]);
        if (fresh.length > 0) await consumer.run(event, trx);
      });
    } catch (err) {
      await inTransaction(db, (trx) => recordFailure(trx, consumer, event, attempts, err));
    }
  }
  return due.length;
}

function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.slice(0, 2000);
}
