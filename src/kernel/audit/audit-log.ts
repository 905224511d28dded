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
  return appendAuditEntries(trx, [entry]);
}

/**
 * Appends entries in order under one acquisition of the lock: one head read, one insert, one head
 * update. The lock is held until the transaction ends, so callers append as late as they can.
 */
export async function appendAuditEntries(trx: Kysely<any>, entries: ReadonlyArray<AuditEntry & { at?: string }>): Promise<{ n: number; hash: string }> {
  if (!trx.isTransaction) throw new Error('appendAudit must run inside a transaction');
  await sql`select pg_advisory_xact_lock(${AUDIT_LOCK})`.execute(trx);
  const head = await trx.selectFrom('kernel.audit_head').select(['n', 'hash']).where('id', '=', 1).executeTakeFirst();
  if (!head) throw new Error('the audit head checkpoint is missing; run verifyAuditChain');
  let n = Number(head.n);
  let prevHash = head.hash as string;
  const rows: Array<Record<string, unknown>> = [];
  for (const entry of entries) {
    const record: AuditRecord = {
      n: ++n,
      id: newId('aud'),
      at: entry.at ?? new Date().toISOString(),
      tenantId: entry.tenantId ?? null,
      actorId: entry.actorId,
      action: entry.action,
      entityType: entry.entityType,
      entityId: entry.entityId,
      requestId: entry.requestId ?? null,
      // Hash what jsonb will give back: a JSON round trip drops undefined and turns dates to text.
      data: JSON.parse(JSON.stringify(entry.data ?? {})),
    };
    const hash = auditHash(prevHash, record);
    rows.push({
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
    });
    prevHash = hash;
  }
  for (let i = 0; i < rows.length; i += 500) await trx.insertInto('kernel.audit_log').values(rows.slice(i, i + 500)).execute();
  await trx.updateTable('kernel.audit_head').set({ n, hash: prevHash }).where('id', '=', 1).execute();
  return { n, hash: prevHash };
}

export function auditHash(prevHash: string, record: AuditRecord): string {
  return createHash('sha256').update(`${prevHash}\n${canonicalJson(record)}`, 'utf8').digest('hex');
}
