import { defineOperation, KernelErrors, newId, z, type OperationContext, type TxContext } from '../../kernel/index.js';
import { maskEmail, maskMobile } from './pii.js';

/**
 * The development outbox: where SMS and e-mail messages land. When the notification module runs,
 * it hears `identity.otp.requested` and sends the message for real through `relayMessage`;
 * without it, this outbox is the only place they go. Meant for the embedded and demo shape (read your OTP from it); the recipient is
 * sealed like any other PII, and reading the outbox (plain recipient and body) is audited.
 */
export type Channel = 'sms' | 'email';

export const DEV_OUTBOX_READ = 'identity.devoutbox.read';

export interface SealedMessage {
  id: string;
  tenant_id: string;
  channel: Channel;
  recipient_enc: string;
  recipient_masked: string;
  body_enc: string;
}

/** Seals the recipient and the body; done before the transaction, since the key ring may create a data key. */
export async function sealMessage(ctx: OperationContext, tenantId: string, channel: Channel, recipient: string, body: string): Promise<SealedMessage> {
  return {
    id: newId('msg'),
    tenant_id: tenantId,
    channel,
    recipient_enc: await ctx.crypto.encrypt(tenantId, recipient),
    recipient_masked: channel === 'sms' ? maskMobile(recipient) : maskEmail(recipient),
    // The body holds the code itself, so it is sealed too.
    body_enc: await ctx.crypto.encrypt(tenantId, body),
  };
}

export async function writeDevOutbox(tx: TxContext, message: SealedMessage): Promise<void> {
  await tx.db.insertInto('dev_outbox').values(message).execute();
}

const CURSOR = /^[0-9]{1,19}$/;

const messageOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  channel: z.enum(['sms', 'email']),
  recipient: z.string(),
  recipientMasked: z.string(),
  body: z.string(),
  createdAt: z.string(),
});

export const MESSAGE_RELAY = 'identity.message.relay';

export const devOutboxOperations = {
  relayMessage: defineOperation({
    summary: 'One development-outbox message in plain text, for the notification module to send (no REST route; audited)',
    permission: MESSAGE_RELAY,
    input: z.object({ id: z.string().min(1).max(64) }),
    output: z.object({ tenantId: z.string(), channel: z.enum(['sms', 'email']), recipient: z.string(), body: z.string() }),
    async handler(ctx, input) {
      const row = await ctx.db.selectFrom('dev_outbox').selectAll().where('id', '=', input.id).executeTakeFirst();
      if (!row) throw KernelErrors.notFound('message');
      const tenantId = String(row.tenant_id);
      await ctx.transaction((tx) => tx.audit({ action: MESSAGE_RELAY, entityType: 'message', entityId: input.id, tenantId, data: { channel: row.channel } }));
      return { tenantId, channel: row.channel as Channel, recipient: await ctx.crypto.decrypt(tenantId, String(row.recipient_enc)), body: await ctx.crypto.decrypt(tenantId, String(row.body_enc)) };
    },
  }),

  listDevOutbox: defineOperation({
    summary: 'Messages in the development outbox, newest first (embedded/demo shape only); plain recipients, so every read is audited',
    permission: DEV_OUTBOX_READ,
    http: { method: 'GET', path: '/dev-outbox' },
    input: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().regex(CURSOR, 'a cursor from a previous page').optional(),
    }),
    output: z.object({ items: z.array(messageOut), nextCursor: z.string().nullable() }),
    async handler(ctx, input) {
      let query = ctx.db.selectFrom('dev_outbox').selectAll().orderBy('seq', 'desc').limit(input.limit + 1);
      // An actor of a tenant sees that tenant's messages and those below it.
      const scope = ctx.actor.tenantId;
      if (scope) query = query.where((eb) => eb.or([eb('tenant_id', '=', scope), eb('tenant_id', 'like', `${scope}.%`)]));
      // The cursor is the insertion number of the last message of the previous page.
      if (input.cursor) query = query.where('seq', '<', input.cursor);
      const rows = await query.execute();
      const page = rows.slice(0, input.limit);
      const items: Array<z.input<typeof messageOut>> = [];
      for (const row of page) {
        items.push({
          id: String(row.id),
          tenantId: String(row.tenant_id),
          channel: row.channel as Channel,
          recipient: await ctx.crypto.decrypt(String(row.tenant_id), String(row.recipient_enc)),
          recipientMasked: String(row.recipient_masked),
          body: await ctx.crypto.decrypt(String(row.tenant_id), String(row.body_enc)),
          createdAt: new Date(row.created_at).toISOString(),
        });
      }
      if (items.length > 0) {
        await ctx.transaction((tx) =>
          tx.audit({ action: DEV_OUTBOX_READ, entityType: 'dev_outbox', entityId: items[0]!.id, data: { messages: items.map((m) => m.id) } }),
        );
      }
      const last = page[page.length - 1];
      return {
        items,
        nextCursor: rows.length > input.limit && last ? String(last.seq) : null,
      };
    },
  }),
};
