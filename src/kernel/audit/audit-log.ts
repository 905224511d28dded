import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { newId } from '../crypto/ids.js';
import { canonicalJson } from './canonical-json.js';

/** Serializes audit writers across processes; held until the caller's transaction ends. */
const AUDIT_LOCK = 0x5e7a_0a0d;
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  tenantId?: string | null;
  actorId: string;
  action: string;
  entityType: string;
  entityId: string;
  requestId?: string | null;
  data?: Record<string, unknown>;
}

/** One stored entry as the hash covers it; `verify` rebuilds this from the row. */
export interface AuditRecord {
  n: number;
  id: string;
  at: string;
  tenantId: string | null;
  actorId: string;
  action: string;
  entityType: string;
  entityId: string;
  requestId: string | null;
  data: unknown;
}

/**
 * Appends one entry to the hash chain inside the caller's transaction, so the entry commits or
 * rolls back with the change it records. Writers queue on an advisory lock, which is what
 * keeps `n` free of gaps and every entry linked to the one before it.
 */
export async function appendAudit(trx: Kysely<any>, entry: AuditEntry): Promise<{ n: number; hash: string }> {
  if (!trx.isTransaction) throw new Error('appendAudit must run inside a transaction');
  await sql`select pg_advisory_xact_lock(${AUDIT_LOCK})`.execute(trx);
  const head = await trx.selectFrom('kernel.audit_head').select(['n', 'hash']).where('id', '=', 1).executeTakeFirst();
  if (!head) throw new Error('the audit head checkpoint is missing; run verifyAuditChain');
  const record: AuditRecord = {
    n: Number(head.n) + 1,
    id: newId('aud'),
    at: new Date().toISOString(),
    tenantId: entry.tenantId ?? null,
    actorId: entry.actorId,
    action: entry.action,
    entityType: entry.entityType,
    entityId: entry.entityId,
    requestId: entry.requestId ?? null,
    // Hash what jsonb will give back: a JSON round trip drops undefined and turns dates to text.
    data: JSON.parse(JSON.stringify(entry.data ?? {})),
  };
  const prevHash = head.hash as string;
  const hash = auditHash(prevHash, record);
  await trx
    .insertInto('kernel.audit_log')
    .values({
      n: record.n,
      id: record.id,
      at: record.at,
      tenant_id: record.tenantId,
      actor_id: record.actorId,
      action: record.action,
      entity_type: record.entityType,
      entity_id: record.entityId,
      request_id: record.requestId,
      data: JSON.stringify(record.data),
      prev_hash: prevHash,
      hash,
    })
    .execute();
  await trx.updateTable('kernel.audit_head').set({ n: record.n, hash }).where('id', '=', 1).execute();
  return { n: record.n, hash };
}

export function auditHash(prevHash: string, record: AuditRecord): string {
  return createHash('sha256').update(`${prevHash}\n${canonicalJson(record)}`, 'utf8').digest('hex');
}
