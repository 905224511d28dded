/** Where a credential's status bits live: positions reserved per tenant, in blocks or inside a caller's transaction. */

import { randomBytes } from 'node:crypto';
import { sql, type OperationContext } from '../../kernel/index.js';
import { insideTransaction, type CredentialsState } from './state.js';
import { STATUS_LIST_SIZE } from './status-list.js';
import { permuteStatusIndex } from './status-index.js';

/** Where the n-th status position of a tenant lies: list n / 131072, at a pseudo-random bit of it. */
export function statusPosition(seed: string, n: number): number {
  const list = Math.floor(n / STATUS_LIST_SIZE);
  return list * STATUS_LIST_SIZE + permuteStatusIndex(seed, list, n % STATUS_LIST_SIZE);
}

/**
 * Reserves the tenant's next `count` status positions (one position serves both its revocation
 * and its suspension list) in a statement of its own, committed at once, so no issuance waits on
 * another's transaction for its position. A reserved position never used (the process stopped,
 * the issuance failed) stays a zero bit in the list: harmless, and never handed out again.
 */
// Raw SQL does not get the module's schema by default: the table is qualified.
export async function reserveStatusPositions(ctx: OperationContext, tenantId: string, count: number): Promise<{ first: number; seed: string }> {
  const { rows } = await sql<{ n: number; seed: string }>`
    insert into credentials.status_allocations as a (tenant_id, next_index, seed) values (${tenantId}, ${count}, ${randomBytes(32).toString('base64url')})
    on conflict (tenant_id) do update set next_index = a.next_index + ${count}
    returning next_index - ${count} as n, seed`.execute(ctx.db);
  return { first: Number(rows[0]!.n), seed: rows[0]!.seed };
}

/**
 * A status position for one credential, from this process's block of the tenant's positions
 * (`statusBlock`, default 100, reserved in one short statement when the block runs out; callers
 * waiting for a refill share it). Inside a caller's transaction, one position reserved in it.
 */
export async function takeStatusPosition(state: CredentialsState, ctx: OperationContext, tenantId: string): Promise<number> {
  if (insideTransaction(ctx)) {
    const { first, seed } = await reserveStatusPositions(ctx, tenantId, 1);
    return statusPosition(seed, first);
  }
  for (;;) {
    const block = state.positions.get(tenantId);
    if (block && block.next < block.end) return statusPosition(block.seed, block.next++);
    let refill = state.refills.get(tenantId);
    if (!refill) {
      const size = state.statusBlock;
      refill = reserveStatusPositions(ctx, tenantId, size)
        .then(({ first, seed }) => {
          const fresh = { next: first, end: first + size, seed };
          state.positions.set(tenantId, fresh);
          return fresh;
        })
        .finally(() => state.refills.delete(tenantId));
      state.refills.set(tenantId, refill);
    }
    await refill;
  }
}
