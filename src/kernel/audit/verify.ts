import type { Kysely } from 'kysely';
import { auditHash, GENESIS_HASH, type AuditRecord } from './audit-log.js';

const PAGE = 1000;

export interface AuditProblem {
  n: number;
  /** Starts with the kind: `modified`, `deleted` or `broken link`, then says what was seen. */
  problem: string;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  problems: AuditProblem[];
}

/**
 * Walks the whole chain and reports every entry whose contents no longer match its hash,
 * every gap in `n` (a deleted entry), every broken link, and a tail cut off below the head
 * checkpoint. Entries appended while it runs, beyond the head read first, are left for next time.
 */
export async function verifyAuditChain(db: Kysely<any>): Promise<AuditVerification> {
  const problems: AuditProblem[] = [];
  const head = await db.selectFrom('kernel.audit_head').select(['n', 'hash']).where('id', '=', 1).executeTakeFirst();
  if (!head) problems.push({ n: 0, problem: 'deleted: the audit head checkpoint is missing' });
  const headN = head ? Number(head.n) : Number.MAX_SAFE_INTEGER;

  let entries = 0;
  let lastN = 0;
  let lastHash = GENESIS_HASH;
  for (;;) {
    const rows = await db
      .selectFrom('kernel.audit_log')
      .selectAll()
      .where('n', '>', lastN)
      .where('n', '<=', headN)
      .orderBy('n')
      .limit(PAGE)
      .execute();
    for (const row of rows) {
      const n = Number(row.n);
      entries++;
      if (n !== lastN + 1) {
        problems.push({ n: lastN + 1, problem: `deleted: ${missing(lastN + 1, n - 1)} missing before entry ${n}` });
      } else if (row.prev_hash !== lastHash) {
        problems.push({ n, problem: "broken link: prev_hash does not match the previous entry's hash" });
      }
      if (auditHash(row.prev_hash, toRecord(row)) !== row.hash) {
        problems.push({ n, problem: "modified: the stored hash does not match the entry's contents" });
      }
      lastN = n;
      lastHash = row.hash;
    }
    if (rows.length < PAGE) break;
  }

  if (head && lastN < headN) {
    problems.push({ n: lastN + 1, problem: `deleted: ${missing(lastN + 1, headN)} missing at the end of the log` });
  } else if (head && head.hash !== lastHash) {
    problems.push({ n: headN, problem: "modified: the head checkpoint does not match the last entry's hash" });
  }
  return { ok: problems.length === 0, entries, problems };
}

function missing(from: number, to: number): string {
  return from === to ? `entry ${from} is` : `entries ${from}..${to} are`;
}

function toRecord(row: Record<string, any>): AuditRecord {
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
