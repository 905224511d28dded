import type { Kysely } from 'kysely';
import { auditHash, auditRecord, GENESIS_HASH } from './audit-log.js';

const PAGE = 1000;

export interface AuditProblem {
  n: number;
  /** Starts with the kind: `modified`, `deleted` or `broken link`, then says what was seen. */
  problem: string;
}

export interface AuditVerification {
  ok: boolean;
  /** Sealed entries checked. */
  entries: number;
  /** Committed entries not yet linked into the chain (the sealer normally catches up within a second). */
  unsealed: number;
  problems: AuditProblem[];
}

/**
 * Walks the whole chain and reports every entry whose contents no longer match its hash,
 * every gap in `n` (a deleted entry), every broken link, and a tail cut off below the head
 * checkpoint. Entries sealed while it runs, beyond the head read first, are left for next time;
 * entries not yet sealed are counted, not checked (nothing links them yet).
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
      if (auditHash(row.prev_hash, auditRecord(row)) !== row.hash) {
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
  const pending = await db.selectFrom('kernel.audit_log').select((eb) => eb.fn.countAll().as('c')).where('hash', 'is', null).executeTakeFirstOrThrow();
  return { ok: problems.length === 0, entries, unsealed: Number(pending.c), problems };
}

function missing(from: number, to: number): string {
  return from === to ? `entry ${from} is` : `entries ${from}..${to} are`;
}
