import { z } from 'zod';
import { verifyAuditChain } from '../audit/verify.js';
import { KernelErrors } from '../errors/seva-error.js';
import { defineModule, defineOperation } from '../modules/define.js';

const deadLetter = z.object({
  id: z.string(),
  consumer: z.string(),
  eventId: z.string(),
  eventName: z.string(),
  attempts: z.number().int(),
  lastError: z.string(),
  failedAt: z.string(),
  resolvedAt: z.string().nullable(),
  resolution: z.string().nullable(),
});

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : value == null ? null : String(value));

/**
 * The kernel's own operator surface, present in every process: events that could not be
 * handled (dead letters) and the audit chain check.
 */
export const systemModule = defineModule({
  name: 'system',
  summary: 'Operator views of the platform kernel',
  jobs: {
    // Published events and idempotency marks are kept well past NATS's duplicate window and any
    // plausible redelivery, then dropped so the tables stay small.
    prune: {
      schedule: '17 3 * * *',
      async handler(ctx, data) {
        const days = (key: string, fallback: number) => new Date(Date.now() - Number(data[key] ?? fallback) * 86_400_000);
        await ctx.db.deleteFrom('kernel.outbox').where('published_at', '<', days('outboxDays', 7)).execute();
        await ctx.db.deleteFrom('kernel.processed_events').where('processed_at', '<', days('processedDays', 30)).execute();
        await ctx.db.deleteFrom('kernel.idempotency_keys').where('created_at', '<', days('idempotencyDays', 1)).execute();
      },
    },
  },
  operations: {
    whoami: defineOperation({
      summary: 'The actor this request is served as (anonymous without credentials)',
      permission: 'public',
      http: { method: 'GET', path: '/whoami' },
      input: z.object({}),
      output: z.object({ kind: z.enum(['user', 'system', 'anonymous']), id: z.string(), tenantId: z.string().nullable(), roles: z.array(z.string()) }),
      async handler(ctx) {
        const { kind, id, tenantId, roles } = ctx.actor;
        return { kind, id, tenantId: tenantId ?? null, roles };
      },
    }),
    listDeadLetters: defineOperation({
      summary: 'Events whose handling failed after every retry',
      permission: 'system.events.read',
      http: { method: 'GET', path: '/dead-letters' },
      input: z.object({
        consumer: z.string().max(200).optional(),
        includeResolved: z.coerce.boolean().default(false),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      output: z.object({ items: z.array(deadLetter) }),
      async handler(ctx, input) {
        let query = ctx.db.selectFrom('kernel.dead_letters').selectAll().orderBy('failed_at', 'desc').limit(input.limit);
        if (input.consumer) query = query.where('consumer', '=', input.consumer);
        if (!input.includeResolved) query = query.where('resolved_at', 'is', null);
        const rows = await query.execute();
        return {
          items: rows.map((row) => {
            const event = typeof row.event === 'string' ? JSON.parse(row.event) : row.event;
            return {
              id: row.id,
              consumer: row.consumer,
              eventId: row.event_id,
              eventName: String(event?.name ?? ''),
              attempts: Number(row.attempts),
              lastError: row.last_error,
              failedAt: iso(row.failed_at)!,
              resolvedAt: iso(row.resolved_at),
              resolution: row.resolution ?? null,
            };
          }),
        };
      },
    }),
    replayDeadLetter: defineOperation({
      summary: 'Hand a dead-lettered event to its consumer again',
      permission: 'system.events.replay',
      http: { method: 'POST', path: '/dead-letters/:id/replay', status: 202 },
      input: z.object({ id: z.string().min(1).max(64) }),
      output: z.object({ id: z.string(), status: z.literal('requeued') }),
      async handler(ctx, input) {
        return ctx.transaction(async (tx) => {
          const row = await tx.db
            .selectFrom('kernel.dead_letters')
            .selectAll()
            .where('id', '=', input.id)
            .where('resolved_at', 'is', null)
            .forUpdate()
            .executeTakeFirst();
          if (!row) throw KernelErrors.notFound('unresolved dead letter');
          await tx.db.deleteFrom('kernel.processed_events').where('consumer', '=', row.consumer).where('event_id', '=', row.event_id).execute();
          await tx.db
            .insertInto('kernel.event_retries')
            .values({ consumer: row.consumer, event_id: row.event_id, event: JSON.stringify(row.event), attempts: 0, next_attempt_at: new Date(), last_error: row.last_error })
            .onConflict((oc) => oc.columns(['consumer', 'event_id']).doNothing())
            .execute();
          await tx.db.updateTable('kernel.dead_letters').set({ resolved_at: new Date(), resolution: 'replayed' }).where('id', '=', row.id).execute();
          await tx.audit({ action: 'system.deadletter.replayed', entityType: 'dead_letter', entityId: row.id, data: { consumer: row.consumer, eventId: row.event_id } });
          return { id: row.id, status: 'requeued' as const };
        });
      },
    }),
    verifyAudit: defineOperation({
      summary: 'Recompute the audit hash chain and report any modified or deleted entry',
      permission: 'system.audit.verify',
      http: { method: 'GET', path: '/audit/verify' },
      input: z.object({}),
      output: z.object({
        ok: z.boolean(),
        entries: z.number().int(),
        unsealed: z.number().int(),
        problems: z.array(z.object({ n: z.number().int(), problem: z.string() })),
      }),
      handler: (ctx) => verifyAuditChain(ctx.db),
    }),
  },
});
