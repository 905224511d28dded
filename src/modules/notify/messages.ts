import { defineOperation, KernelErrors, z } from '../../kernel/index.js';
import { channel } from './channels.js';
import { NotifyErrors } from './errors.js';
import { tenantCode } from './fallbacks.js';

export const MESSAGE_READ = 'notify.message.read';
export const OUTBOX_READ = 'notify.outbox.read';

const CURSOR = z.string().regex(/^[0-9]{1,19}$/, 'a cursor from a previous page');
const status = z.enum(['queued', 'sent', 'delivered', 'failed', 'suppressed']);

/** What a message looks like to staff: status and provider facts, the recipient masked. */
const messageOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  channel,
  provider: z.string(),
  status,
  category: z.string(),
  mandatory: z.boolean(),
  template: z.string().nullable(),
  locale: z.string().nullable(),
  userId: z.string().nullable(),
  recipientMasked: z.string(),
  encoding: z.string().nullable(),
  segments: z.number().int().nullable(),
  attempts: z.number().int(),
  providerMessageId: z.string().nullable(),
  lastError: z.string().nullable(),
  requestUid: z.string().nullable(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  failedAt: z.string().nullable(),
});

const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);

export function messageView(r: any): z.input<typeof messageOut> {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    channel: r.channel,
    provider: r.provider,
    status: r.status,
    category: r.category,
    mandatory: r.mandatory,
    template: r.template,
    locale: r.locale,
    userId: r.user_id,
    recipientMasked: r.recipient_masked,
    encoding: r.encoding,
    segments: r.segments === null ? null : Number(r.segments),
    attempts: Number(r.attempts),
    providerMessageId: r.provider_message_id,
    lastError: r.last_error,
    requestUid: r.batch_id,
    createdAt: iso(r.created_at)!,
    sentAt: iso(r.sent_at),
    deliveredAt: iso(r.delivered_at),
    failedAt: iso(r.failed_at),
  };
}

const scoped = (tenant: string) => (eb: any) => eb.or([eb('tenant_id', '=', tenant), eb('tenant_id', 'like', `${tenant}.%`)]);

export const messageOperations = {
  getMessage: defineOperation({
    summary: 'A message’s status, attempts and provider id (recipient masked)',
    permission: MESSAGE_READ,
    http: { method: 'GET', path: '/messages/:id' },
    input: z.object({ id: z.string().min(1).max(64) }),
    output: messageOut,
    async handler(ctx, input) {
      const row = await ctx.db.selectFrom('messages').selectAll().where('id', '=', input.id).executeTakeFirst();
      // Another tenant's message is answered like a missing one.
      if (!row || (ctx.actor.kind === 'user' && ctx.actor.tenantId && !scopedTo(ctx.actor.tenantId, row.tenant_id))) throw NotifyErrors.messageNotFound();
      return messageView(row);
    },
  }),

  listMessages: defineOperation({
    summary: 'Messages of a tenant and the tenants below it, newest first',
    permission: MESSAGE_READ,
    http: { method: 'GET', path: '/messages' },
    input: z.object({
      tenant: tenantCode,
      status: status.optional(),
      channel: channel.optional(),
      requestUid: z.string().min(1).max(64).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
      cursor: CURSOR.optional(),
    }),
    output: z.object({ items: z.array(messageOut), nextCursor: z.string().nullable() }),
    async handler(ctx, input) {
      let query = ctx.db.selectFrom('messages').selectAll().where(scoped(input.tenant)).orderBy('seq', 'desc').limit(input.limit + 1);
      if (input.status) query = query.where('status', '=', input.status);
      if (input.channel) query = query.where('channel', '=', input.channel);
      if (input.requestUid) query = query.where('batch_id', '=', input.requestUid);
      if (input.cursor) query = query.where('seq', '<', input.cursor);
      const rows = await query.execute();
      const page = rows.slice(0, input.limit);
      return { items: page.map(messageView), nextCursor: rows.length > input.limit ? String(page[page.length - 1]!.seq) : null };
    },
  }),

  listDevOutbox: defineOperation({
    summary: 'The development outbox: e-mail and SMS that no provider took (embedded default), with plain recipient and text; every read is audited',
    permission: OUTBOX_READ,
    http: { method: 'GET', path: '/dev-outbox' },
    input: z.object({ tenant: tenantCode, limit: z.coerce.number().int().min(1).max(100).default(20), cursor: CURSOR.optional() }),
    output: z.object({
      items: z.array(z.object({ id: z.string(), tenantId: z.string(), channel, recipient: z.string(), subject: z.string().nullable(), body: z.string(), createdAt: z.string() })),
      nextCursor: z.string().nullable(),
    }),
    async handler(ctx, input) {
      let query = ctx.db.selectFrom('messages').selectAll().where('provider', '=', 'devoutbox').where(scoped(input.tenant)).orderBy('seq', 'desc').limit(input.limit + 1);
      if (input.cursor) query = query.where('seq', '<', input.cursor);
      const rows = await query.execute();
      const page = rows.slice(0, input.limit);
      const items: Array<{ id: string; tenantId: string; channel: 'email' | 'sms' | 'inapp'; recipient: string; subject: string | null; body: string; createdAt: string }> = [];
      for (const r of page) {
        items.push({
          id: r.id,
          tenantId: r.tenant_id,
          channel: r.channel,
          recipient: await ctx.crypto.decrypt(r.tenant_id, r.recipient_enc),
          subject: r.subject_enc ? await ctx.crypto.decrypt(r.tenant_id, r.subject_enc) : null,
          body: await ctx.crypto.decrypt(r.tenant_id, r.body_enc),
          createdAt: new Date(r.created_at).toISOString(),
        });
      }
      if (items.length > 0) {
        await ctx.transaction((tx) => tx.audit({ action: OUTBOX_READ, entityType: 'dev_outbox', entityId: items[0]!.id, tenantId: input.tenant, data: { messages: items.map((m) => m.id) } }));
      }
      return { items, nextCursor: rows.length > input.limit ? String(page[page.length - 1]!.seq) : null };
    },
  }),
};

function scopedTo(actorTenant: string, tenant: string): boolean {
  return tenant === actorTenant || tenant.startsWith(`${actorTenant}.`);
}

/** The signed-in user's id; in-app and preference operations act on the caller's own account. */
export function ownUser(ctx: { actor: { kind: string; id: string } }): string {
  if (ctx.actor.kind !== 'user') throw KernelErrors.unauthenticated('This needs a signed-in user');
  return ctx.actor.id;
}
