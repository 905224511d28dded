import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { canonicalJson } from '../audit/canonical-json.js';
import { inTransaction } from '../db/transaction-scope.js';
import { KernelErrors, SevaError } from '../errors/seva-error.js';
import type { Migration } from '../db/migrations.js';

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{8,255}$/;

export const idempotencyMigrations: Migration[] = [
  {
    name: '001_idempotency_keys',
    sql: `
      create table idempotency_keys (
        actor_id text not null,
        key text not null,
        request_hash text not null,
        status_code int not null,
        response jsonb,
        created_at timestamptz not null default now(),
        primary key (actor_id, key)
      );
      create index idempotency_keys_created on idempotency_keys (created_at);
    `,
  },
];

export interface IdempotentRequest {
  actorId: string;
  key: string;
  method: string;
  path: string;
  body: unknown;
}

export interface IdempotentResult {
  status: number;
  body: unknown;
  replayed: boolean;
}

/**
 * Runs a write at most once per (actor, Idempotency-Key). The key is recorded in the same
 * transaction as the write, so a retry after a lost answer replays the stored response, a
 * concurrent duplicate waits for the first and then replays it, and a failed write leaves no
 * key behind (the client may simply retry). The same key with a different request is refused.
 */
export async function withIdempotency(
  db: Kysely<any>,
  request: IdempotentRequest,
  run: () => Promise<{ status: number; body: unknown }>,
): Promise<IdempotentResult> {
  if (!IDEMPOTENCY_KEY.test(request.key)) {
    throw KernelErrors.validation([{ path: 'headers.idempotency-key', message: 'must be 8 to 255 visible ASCII characters' }]);
  }
  const requestHash = createHash('sha256').update(`${request.method} ${request.path}\n${canonicalJson(request.body ?? null)}`).digest('hex');
  return inTransaction(db, async (trx) => {
    const claimed = await trx
      .insertInto('kernel.idempotency_keys')
      .values({ actor_id: request.actorId, key: request.key, request_hash: requestHash, status_code: 0 })
      .onConflict((oc) => oc.columns(['actor_id', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (!claimed) {
      const stored = await trx
        .selectFrom('kernel.idempotency_keys')
        .select(['request_hash', 'status_code', 'response'])
        .where('actor_id', '=', request.actorId)
        .where('key', '=', request.key)
        .executeTakeFirstOrThrow();
      if (stored.request_hash !== requestHash) {
        throw new SevaError('IDEMPOTENCY_KEY_REUSED', 422, 'This Idempotency-Key was used for a different request');
      }
      return { status: Number(stored.status_code), body: stored.response, replayed: true };
    }
    const result = await run();
    await trx
      .updateTable('kernel.idempotency_keys')
      .set({ status_code: result.status, response: JSON.stringify(result.body ?? null) })
      .where('actor_id', '=', request.actorId)
      .where('key', '=', request.key)
      .execute();
    return { ...result, replayed: false };
  });
}
