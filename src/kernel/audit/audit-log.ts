import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { deferInsert } from '../db/transaction-scope.js';
import { newId } from '../crypto/ids.js';
import { canonicalJson } from './canonical-json.js';

/** Lets one sealer at a time extend the chain, across processes. */
export const SEAL_LOCK = 0x5e7a_0a0d;
const SEAL_BATCH = 1000;
export const GENESIS_HASH = '0'.repeat(64);
/**
 * The background sealer's least time between rounds: a round costs seven statements whatever it
 * seals, so under load it should seal many entries, not one per commit.
 */
export const AUDIT_SEAL_GAP_MS = 200;

export interface AuditEntry {
  tenantId?: string | null;
  actorId: string;
  action: string;
  entityType: string;
  entityId: string;
  requestId?: string | null;
  data?: Record<string, unknown>;
}

/** One stored entry as the hash covers it; sealing and `verify` both rebuild it from the row. */
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
 * Writes one entry inside the caller's transaction, so it commits or rolls back with the change
 * it records. The entry is not yet in the hash chain: `sealAudit` links committed entries after
 * the fact, so audited writes never wait on one another (a chain extended at write time would
 * serialize every audited transaction of the platform until its commit).
 */
export async function appendAudit(trx: Kysely<any>, entry: AuditEntry & { at?: string }): Promise<void> {
  if (!trx.isTransaction) throw new Error('appendAudit must run inside a transaction');
  const row = {
    id: newId('aud'),
    at: entry.at ?? new Date().toISOString(),
    tenant_id: entry.tenantId ?? null,
    actor_id: entry.actorId,
    action: entry.action,
    entity_type: entry.entityType,
    entity_id: entry.entityId,
    request_id: entry.requestId ?? null,
    data: JSON.stringify(entry.data ?? {}),
  };
  // Batched with the transaction's other entries into one insert just before commit.
  if (!deferInsert(trx, 'kernel.audit_log', row)) await trx.insertInto('kernel.audit_log').values(row).execute();
}

/**
 * Links up to `limit` committed, unsealed entries into the chain in the order they were written
 * (their `seq`), numbering them on from the head and hashing each with the previous hash; returns
 * how many it sealed. An entry that commits after a later-written one is sealed in a later round,
 * so `n` is the order of sealing and has no gaps. Until sealed (normally within a second), an
 * entry is protected by the append-only triggers only, not by the chain. With `wait: false` (the
 * background loop of each process) a round that finds another sealer at work seals nothing.
 */
export async function sealAudit(db: Kysely<any>, limit = SEAL_BATCH, options: { wait?: boolean } = {}): Promise<number> {
  return db.transaction().execute(async (trx) => {
    if (options.wait === false) {
      // Another process is sealing: it links what is committed, this one's entries too, and
      // waiting for it would only hold a connection of the pool idle.
      const got = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${SEAL_LOCK}) as locked`.execute(trx);
      if (!got.rows[0]?.locked) return 0;
    } else {
      await sql`select pg_advisory_xact_lock(${SEAL_LOCK})`.execute(trx);
    }
    const rows = await trx.selectFrom('kernel.audit_log').selectAll().where('hash', 'is', null).orderBy('seq').limit(limit).execute();
    if (rows.length === 0) return 0;
    const head = await trx.selectFrom('kernel.audit_head').select(['n', 'hash']).where('id', '=', 1).executeTakeFirst();
    if (!head) throw new Error('the audit head checkpoint is missing; run verifyAuditChain');
    let n = Number(head.n);
    let prevHash = head.hash as string;
    const seqs: string[] = [];
    const numbers: number[] = [];
    const prevHashes: string[] = [];
    const hashes: string[] = [];
    for (const row of rows) {
      const hash = auditHash(prevHash, auditRecord({ ...row, n: ++n }));
      seqs.push(String(row.seq));
      numbers.push(n);
      prevHashes.push(prevHash);
      hashes.push(hash);
      prevHash = hash;
    }
    await sql`
      update kernel.audit_log as a set n = s.n, prev_hash = s.prev_hash, hash = s.hash
      from unnest(${seqs}::bigint[], ${numbers}::bigint[], ${prevHashes}::text[], ${hashes}::text[]) as s(seq, n, prev_hash, hash)
      where a.seq = s.seq`.execute(trx);
    await trx.updateTable('kernel.audit_head').set({ n, hash: prevHash }).where('id', '=', 1).execute();
    return rows.length;
  });
}

/** Seals until no committed entry is left unsealed (a command's or a test's "catch up now"). */
export async function sealAllAudit(db: Kysely<any>): Promise<number> {
  let total = 0;
  for (let sealed = await sealAudit(db); sealed > 0; sealed = await sealAudit(db)) total += sealed;
  return total;
}

/** The record a stored row stands for, exactly as its hash covers it. */
export function auditRecord(row: Record<string, any>): AuditRecord {
  return {
    n: Number(row.n),
    id: row.id,
    at: new Date(row.at).toISOString(),
    tenantId: row.tenant_id ?? null,
    actorId: row.actor_id,
    action: row.action,
    entityType: row.entity_type,
    entityId: row.entity_id,
    requestId: row.request_id ?? null,
    data: typeof row.data === 'string' ? JSON.parse(row.data) : row.data,
  };
}

export function auditHash(prevHash: string, record: AuditRecord): string {
  return createHash('sha256').update(`${prevHash}\n${canonicalJson(record)}`, 'utf8').digest('hex');
}
