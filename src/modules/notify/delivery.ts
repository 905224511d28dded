import { newId, sql, type JobDef, type OperationContext } from '../../kernel/index.js';
import type { Outbound } from './channels.js';
import { retryDelayMs, type ResolvedOptions } from './options.js';
import { openProvider, providerFor, providerRate, type Outgoing, type ProviderName, type ProviderSession, type SendResult } from './providers.js';
import { DELIVERY_JOBS } from './queue.js';
import { takeTokens } from './rate-bucket.js';

/** A claim is held this long; a process that dies mid-round leaves its messages to the next round. */
const LEASE_SECONDS = 120;

interface Claimed {
  id: string;
  tenant_id: string;
  recipient_enc: string;
  subject_enc: string | null;
  body_enc: string;
  html_enc: string | null;
  encoding: string | null;
  attempts: number;
}

interface Outcome {
  id: string;
  tenantId: string;
  attempts: number;
  result: SendResult;
}

/** Claims due messages of a channel (skipping those another process holds) and counts the attempt. */
async function claim(ctx: OperationContext, ch: Outbound, limit: number): Promise<Claimed[]> {
  const result = await sql<Claimed>`
    update notify.messages set lease_until = now() + make_interval(secs => ${LEASE_SECONDS}), attempts = attempts + 1, updated_at = now()
    where id in (
      select id from notify.messages
      where status = 'queued' and channel = ${ch} and next_attempt_at <= now() and (lease_until is null or lease_until < now())
      order by next_attempt_at limit ${limit} for update skip locked
    )
    returning id, tenant_id, recipient_enc, subject_enc, body_enc, html_enc, encoding, attempts`.execute(ctx.db);
  return result.rows;
}

async function unseal(ctx: OperationContext, m: Claimed): Promise<Outgoing> {
  const open = (v: string | null) => (v === null ? Promise.resolve(null) : ctx.crypto.decrypt(m.tenant_id, v));
  return { id: m.id, recipient: await ctx.crypto.decrypt(m.tenant_id, m.recipient_enc), subject: await open(m.subject_enc), body: await ctx.crypto.decrypt(m.tenant_id, m.body_enc), html: await open(m.html_enc), encoding: m.encoding };
}

/** Records one round's outcomes, their audit entry and the events of final failures, atomically. */
async function record(ctx: OperationContext, provider: ProviderName, outcomes: readonly Outcome[], options: ResolvedOptions): Promise<number | undefined> {
  let nextRetryMs: number | undefined;
  const sent: string[] = [];
  const retrying: string[] = [];
  const failed: string[] = [];
  await ctx.transaction(async (tx) => {
    for (const o of outcomes) {
      const base = tx.db.updateTable('messages').where('id', '=', o.id);
      if (o.result.ok) {
        sent.push(o.id);
        // A receipt may already have said `delivered`; only a queued message becomes `sent`.
        await base
          .set((eb) => ({
            status: eb.case().when('status', '=', 'queued').then('sent').else(eb.ref('status')).end(),
            provider,
            provider_message_id: (o.result as { providerMessageId: string }).providerMessageId,
            sent_at: new Date(),
            lease_until: null,
            last_error: null,
            updated_at: new Date(),
          }))
          .execute();
      } else if (o.result.retry && o.attempts < options.maxAttempts) {
        retrying.push(o.id);
        const delay = retryDelayMs(options, o.attempts);
        nextRetryMs = Math.min(nextRetryMs ?? delay, delay);
        await base.set({ provider, next_attempt_at: new Date(Date.now() + delay), lease_until: null, last_error: o.result.error, updated_at: new Date() }).execute();
      } else {
        failed.push(o.id);
        await base.set({ status: 'failed', provider, failed_at: new Date(), lease_until: null, last_error: o.result.error, updated_at: new Date() }).execute();
        await tx.emit({ name: 'notify.message.failed', tenantId: o.tenantId, payload: { messageId: o.id, provider, attempts: o.attempts, error: o.result.error } });
      }
    }
    await tx.audit({ action: 'notify.messages.attempted', entityType: 'delivery', entityId: newId('dlv'), tenantId: null, data: { provider, sent, retrying, failed } });
  });
  return nextRetryMs;
}

/**
 * One delivery job per channel: drains every due message of the channel, within the provider's
 * rate (a token bucket shared by all processes) and with a bounded number in flight. Failed
 * attempts wait with exponential backoff; a delayed job wakes the channel when the first is due.
 */
export function deliveryJob(ch: Outbound, options: ResolvedOptions): JobDef {
  return {
    async handler(ctx) {
      // Sends from now on wake a new job: this one may already be past their messages.
      await ctx.db.updateTable('kicks').set({ pending: false }).where('channel', '=', ch).execute();
      const provider = providerFor(ch, ctx.config);
      if (provider === 'devoutbox' || provider === 'inapp') {
        await toDevOutbox(ctx, ch);
        return;
      }
      const rate = providerRate(provider, ctx.config);
      // A round holds at most ~30 s of sending, well inside the lease.
      const round = Math.max(1, Math.min(options.claimBatch, Math.ceil(rate * 30)));
      let session: ProviderSession | undefined;
      let nextRetryMs: number | undefined;
      try {
        for (;;) {
          const claimed = await claim(ctx, ch, round);
          if (claimed.length === 0) break;
          session ??= openProvider(provider, ctx.config, options.concurrency);
          for (let i = 0; i < claimed.length; ) {
            const { granted, waitMs } = await takeTokens(ctx, provider, Math.min(options.concurrency, claimed.length - i), rate, Math.max(1, Math.min(rate, options.concurrency)));
            if (granted === 0) {
              await new Promise((r) => setTimeout(r, waitMs));
              continue;
            }
            const slice = claimed.slice(i, i + granted);
            i += granted;
            const s = session;
            const outcomes = await Promise.all(slice.map(async (m): Promise<Outcome> => ({ id: m.id, tenantId: m.tenant_id, attempts: m.attempts, result: await s.send(await unseal(ctx, m)) })));
            const retry = await record(ctx, provider, outcomes, options);
            if (retry !== undefined) nextRetryMs = Math.min(nextRetryMs ?? retry, retry);
          }
        }
      } finally {
        session?.close();
      }
      if (nextRetryMs !== undefined) await ctx.jobs.send(DELIVERY_JOBS[ch], {}, { startAfterSeconds: Math.max(1, Math.ceil(nextRetryMs / 1000)) });
    },
  };
}

/** Messages queued for a provider that is no longer configured go to the development outbox. */
async function toDevOutbox(ctx: OperationContext, ch: Outbound): Promise<void> {
  await ctx.transaction(async (tx) => {
    const moved = await tx.db
      .updateTable('messages')
      .set((eb) => ({ status: 'sent', provider: 'devoutbox', provider_message_id: eb.ref('id'), sent_at: new Date(), lease_until: null, updated_at: new Date() }))
      .where('status', '=', 'queued')
      .where('channel', '=', ch)
      .returning('id')
      .execute();
    if (moved.length > 0) await tx.audit({ action: 'notify.messages.attempted', entityType: 'delivery', entityId: newId('dlv'), tenantId: null, data: { provider: 'devoutbox', sent: moved.map((m) => m.id), retrying: [], failed: [] } });
  });
}

/** Every minute: wakes each channel that has due messages (a safety net for a lost wake-up). */
export const sweepJob: JobDef = {
  schedule: '* * * * *',
  async handler(ctx) {
    for (const ch of ['email', 'sms'] as const) {
      const due = await ctx.db.selectFrom('messages').select('id').where('status', '=', 'queued').where('channel', '=', ch).where('next_attempt_at', '<=', new Date()).limit(1).executeTakeFirst();
      if (due) await ctx.jobs.send(DELIVERY_JOBS[ch], {});
    }
  },
};
