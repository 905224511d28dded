import { sql, type Kysely } from 'kysely';
import { newId } from '../crypto/ids.js';
import { deferInsert } from '../db/transaction-scope.js';
import { SevaError } from '../errors/seva-error.js';
import { EVENT_NAME, type NewEvent, type SevaEvent } from './types.js';

export interface EventMeta {
  actorId: string | null;
  requestId: string | null;
}

/** Writes an event into the outbox inside the caller's transaction: it commits with the change, or not at all. */
export async function writeEvent(trx: Kysely<any>, event: NewEvent, meta: EventMeta): Promise<string> {
  if (!EVENT_NAME.test(event.name)) {
    throw new SevaError('EVENT_NAME_INVALID', 500, `Event name "${event.name}" is not module.entity.verb`);
  }
  const id = newId('evt');
  const row = {
    id,
    name: event.name,
    tenant_id: event.tenantId ?? null,
    payload: JSON.stringify(event.payload ?? {}),
    actor_id: meta.actorId,
    request_id: meta.requestId,
  };
  // Events of one transaction go in as one statement at commit: same atomicity, far fewer trips.
  if (!deferInsert(trx, 'kernel.outbox', row)) await trx.insertInto('kernel.outbox').values(row).execute();
  return id;
}

export interface OutboxRow {
  seq: number;
  id: string;
  name: string;
  tenant_id: string | null;
  payload: unknown;
  actor_id: string | null;
  request_id: string | null;
  occurred_at: Date | string;
}

export function toEvent(row: OutboxRow): SevaEvent {
  return {
    id: row.id,
    name: row.name,
    tenantId: row.tenant_id,
    payload: (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as Record<string, unknown>,
    actorId: row.actor_id,
    requestId: row.request_id,
    occurredAt: row.occurred_at instanceof Date ? row.occurred_at.toISOString() : String(row.occurred_at),
  };
}

export async function unpublished(db: Kysely<any>, limit: number): Promise<OutboxRow[]> {
  return (await db
    .selectFrom('kernel.outbox')
    .selectAll()
    .where('published_at', 'is', null)
    .orderBy('seq')
    .limit(limit)
    .execute()) as OutboxRow[];
}

export async function markPublished(db: Kysely<any>, seqs: number[]): Promise<void> {
  if (seqs.length === 0) return;
  // One array parameter, not a list of them: the same statement text (prepared once per
  // connection) whatever the batch's size.
  await db.updateTable('kernel.outbox').set({ published_at: new Date() }).where('seq', '=', sql<number>`any(${seqs}::bigint[])`).execute();
}
