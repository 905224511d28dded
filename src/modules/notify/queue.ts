import { newId, type AuditEntry, type OperationContext } from '../../kernel/index.js';
import { maskAddress, type Channel } from './channels.js';
import { providerFor } from './providers.js';
import type { SmsEncoding } from './sms-encoding.js';

export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'failed' | 'suppressed';

/** A rendered message for one recipient on one channel, before it is sealed and stored. */
export interface Draft {
  tenantId: string;
  channel: Channel;
  /** The recipient's account, when known: preferences and the in-app inbox hang on it. */
  userId: string | null;
  /** E-mail address, mobile number, or (in-app) the user id. */
  recipient: string;
  locale: string | null;
  template: string | null;
  category: string;
  mandatory: boolean;
  subject: string | null;
  body: string;
  html: string | null;
  sms: SmsEncoding | null;
  /** Same key, same message: a second draft with it is dropped (event id + subscription + recipient + channel). */
  dedupeKey?: string | undefined;
  eventId?: string | undefined;
  subscriptionId?: string | undefined;
  batchId?: string | undefined;
}

export interface Queued {
  id: string;
  channel: Channel;
  status: MessageStatus;
  deduplicated: boolean;
}

export const DELIVERY_JOBS = { email: 'deliverEmail', sms: 'deliverSms' } as const;
const INSERT_CHUNK = 500;

/** Which users opted out of which channel and category (`*` covers every category). */
async function optOuts(ctx: OperationContext, drafts: readonly Draft[]): Promise<Set<string>> {
  const users = [...new Set(drafts.filter((d) => !d.mandatory && d.userId).map((d) => d.userId!))];
  const out = new Set<string>();
  for (let i = 0; i < users.length; i += 1000) {
    const rows = await ctx.db.selectFrom('preferences').select(['user_id', 'channel', 'category']).where('user_id', 'in', users.slice(i, i + 1000)).where('opted_out', '=', true).execute();
    for (const r of rows) out.add(`${r.user_id}|${r.channel}|${r.category}`);
  }
  return out;
}

/**
 * Seals and stores messages, each once (duplicates by key are dropped), honouring opt-outs unless
 * a message is mandatory, and wakes the channel's delivery job in the same transaction. In-app
 * messages are delivered by being stored; without a provider, e-mail and SMS land in the
 * development outbox at once.
 */
export async function queueMessages(ctx: OperationContext, drafts: readonly Draft[], audit: Omit<AuditEntry, 'data'> & { data?: Record<string, unknown> }): Promise<Queued[]> {
  if (drafts.length === 0) return [];
  const refused = await optOuts(ctx, drafts);
  const now = new Date();
  const rows = await Promise.all(
    drafts.map(async (d) => {
      const id = newId('msg');
      const provider = providerFor(d.channel, ctx.config);
      const optedOut = !d.mandatory && d.userId !== null && (refused.has(`${d.userId}|${d.channel}|${d.category}`) || refused.has(`${d.userId}|${d.channel}|*`));
      const status: MessageStatus = optedOut ? 'suppressed' : provider === 'inapp' ? 'delivered' : provider === 'devoutbox' ? 'sent' : 'queued';
      return {
        id,
        tenant_id: d.tenantId,
        channel: d.channel,
        provider,
        status,
        category: d.category,
        mandatory: d.mandatory,
        template: d.template,
        locale: d.locale,
        user_id: d.userId,
        recipient_enc: await ctx.crypto.encrypt(d.tenantId, d.recipient),
        recipient_masked: maskAddress(d.channel, d.recipient),
        // Subjects and bodies carry names, amounts and sign-in codes: sealed like the recipient.
        subject_enc: d.subject === null ? null : await ctx.crypto.encrypt(d.tenantId, d.subject),
        body_enc: await ctx.crypto.encrypt(d.tenantId, d.body),
        html_enc: d.html === null ? null : await ctx.crypto.encrypt(d.tenantId, d.html),
        encoding: d.sms?.encoding ?? null,
        segments: d.sms?.segments ?? null,
        dedupe_key: d.dedupeKey ?? id,
        event_id: d.eventId ?? null,
        subscription_id: d.subscriptionId ?? null,
        batch_id: d.batchId ?? null,
        sent_at: status === 'sent' ? now : null,
        delivered_at: status === 'delivered' ? now : null,
        provider_message_id: status === 'sent' ? id : null,
      };
    }),
  );
  return ctx.transaction(async (tx) => {
    const inserted = new Set<string>();
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const ids = await tx.db
        .insertInto('messages')
        .values(rows.slice(i, i + INSERT_CHUNK))
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .returning('id')
        .execute();
      for (const r of ids) inserted.add(String(r.id));
    }
    // A duplicate answers with the message that already exists.
    const dropped = rows.filter((r) => !inserted.has(r.id)).map((r) => r.dedupe_key);
    const existing = new Map<string, { id: string; status: MessageStatus }>();
    for (let i = 0; i < dropped.length; i += 1000) {
      const found = await tx.db.selectFrom('messages').select(['id', 'status', 'dedupe_key']).where('dedupe_key', 'in', dropped.slice(i, i + 1000)).execute();
      for (const f of found) existing.set(String(f.dedupe_key), { id: String(f.id), status: f.status as MessageStatus });
    }
    const fresh = rows.filter((r) => inserted.has(r.id));
    for (const ch of ['email', 'sms'] as const) {
      if (fresh.some((r) => r.channel === ch && r.status === 'queued')) await wakeDelivery(ctx, ch);
    }
    if (fresh.length > 0) {
      const count = (s: MessageStatus) => fresh.filter((r) => r.status === s).length;
      await tx.audit({
        ...audit,
        data: { ...audit.data, messages: fresh.map((r) => r.id), queued: count('queued'), sent: count('sent'), delivered: count('delivered'), suppressed: count('suppressed'), duplicates: dropped.length },
      });
    }
    return rows.map((r): Queued => {
      if (inserted.has(r.id)) return { id: r.id, channel: r.channel, status: r.status, deduplicated: false };
      const old = existing.get(r.dedupe_key);
      return { id: old?.id ?? r.id, channel: r.channel, status: old?.status ?? r.status, deduplicated: true };
    });
  });
}

/**
 * Sends the channel's delivery job unless one is already waiting: a burst of sends costs one job,
 * not one per message (the job drains everything due). Called inside the sending transaction.
 */
export async function wakeDelivery(ctx: OperationContext, ch: 'email' | 'sms'): Promise<void> {
  const flipped = await ctx.db.updateTable('kicks').set({ pending: true }).where('channel', '=', ch).where('pending', '=', false).returning('channel').executeTakeFirst();
  if (flipped) await ctx.jobs.send(DELIVERY_JOBS[ch], {});
}
