import { defineOperation, z } from '../../kernel/index.js';
import { category } from './channels.js';
import { NotifyErrors } from './errors.js';
import { ownUser } from './messages.js';

export const INBOX_USE = 'notify.inbox.use';
export const PREFERENCE_MANAGE = 'notify.preference.manage';

const inboxItem = z.object({ id: z.string(), category: z.string(), title: z.string().nullable(), body: z.string(), createdAt: z.string(), readAt: z.string().nullable() });

export const inboxOperations = {
  listInbox: defineOperation({
    summary: 'The caller’s in-app notifications, newest first, with read state and the unread count',
    permission: INBOX_USE,
    http: { method: 'GET', path: '/inbox' },
    input: z.object({ unreadOnly: z.enum(['true', 'false']).default('false'), limit: z.coerce.number().int().min(1).max(100).default(20), cursor: z.string().regex(/^[0-9]{1,19}$/, 'a cursor from a previous page').optional() }),
    output: z.object({ items: z.array(inboxItem), unread: z.number().int(), nextCursor: z.string().nullable() }),
    async handler(ctx, input) {
      const user = ownUser(ctx);
      let query = ctx.db.selectFrom('messages').selectAll().where('user_id', '=', user).where('channel', '=', 'inapp').where('status', '=', 'delivered').orderBy('seq', 'desc').limit(input.limit + 1);
      if (input.unreadOnly === 'true') query = query.where('read_at', 'is', null);
      if (input.cursor) query = query.where('seq', '<', input.cursor);
      const rows = await query.execute();
      const page = rows.slice(0, input.limit);
      const unread = await ctx.db.selectFrom('messages').select((eb) => eb.fn.countAll<string>().as('n')).where('user_id', '=', user).where('channel', '=', 'inapp').where('status', '=', 'delivered').where('read_at', 'is', null).executeTakeFirstOrThrow();
      const items = [];
      for (const r of page) {
        items.push({
          id: r.id,
          category: r.category,
          title: r.subject_enc ? await ctx.crypto.decrypt(r.tenant_id, r.subject_enc) : null,
          body: await ctx.crypto.decrypt(r.tenant_id, r.body_enc),
          createdAt: new Date(r.created_at).toISOString(),
          readAt: r.read_at ? new Date(r.read_at).toISOString() : null,
        });
      }
      return { items, unread: Number(unread.n), nextCursor: rows.length > input.limit ? String(page[page.length - 1]!.seq) : null };
    },
  }),

  markRead: defineOperation({
    summary: 'Mark one of the caller’s in-app notifications read (again is harmless)',
    permission: INBOX_USE,
    http: { method: 'POST', path: '/inbox/:id/read', status: 200 },
    input: z.object({ id: z.string().min(1).max(64) }),
    output: z.object({ id: z.string(), readAt: z.string() }),
    async handler(ctx, input) {
      const user = ownUser(ctx);
      return ctx.transaction(async (tx) => {
        const row = await tx.db
          .updateTable('messages')
          .set((eb) => ({ read_at: eb.fn.coalesce('read_at', eb.val(new Date())), updated_at: new Date() }))
          .where('id', '=', input.id)
          .where('user_id', '=', user)
          .where('channel', '=', 'inapp')
          .returning(['id', 'read_at', 'tenant_id'])
          .executeTakeFirst();
        if (!row) throw NotifyErrors.messageNotFound();
        await tx.audit({ action: 'notify.inbox.read', entityType: 'message', entityId: input.id, tenantId: row.tenant_id });
        return { id: row.id, readAt: new Date(row.read_at).toISOString() };
      });
    },
  }),

  listPreferences: defineOperation({
    summary: 'The caller’s notification preferences (opt-outs per channel and category; `*` is every category)',
    permission: PREFERENCE_MANAGE,
    http: { method: 'GET', path: '/preferences' },
    input: z.object({}),
    output: z.object({ items: z.array(z.object({ channel: z.string(), category: z.string(), optOut: z.boolean(), updatedAt: z.string() })) }),
    async handler(ctx) {
      const rows = await ctx.db.selectFrom('preferences').selectAll().where('user_id', '=', ownUser(ctx)).orderBy('channel').orderBy('category').execute();
      return { items: rows.map((r) => ({ channel: r.channel, category: r.category, optOut: r.opted_out, updatedAt: new Date(r.updated_at).toISOString() })) };
    },
  }),

  setPreference: defineOperation({
    summary: 'Opt out of (or back into) a channel for a category of messages; mandatory messages still arrive',
    permission: PREFERENCE_MANAGE,
    http: { method: 'PUT', path: '/preferences', status: 200 },
    input: z.object({ channel: z.enum(['email', 'sms', 'inapp']), category: z.union([z.literal('*'), category]), optOut: z.boolean() }),
    output: z.object({ channel: z.string(), category: z.string(), optOut: z.boolean() }),
    async handler(ctx, input) {
      const user = ownUser(ctx);
      const tenantId = ctx.actor.tenantId ?? '';
      return ctx.transaction(async (tx) => {
        const row = { user_id: user, tenant_id: tenantId, channel: input.channel, category: input.category, opted_out: input.optOut, updated_at: new Date() };
        await tx.db.insertInto('preferences').values(row).onConflict((oc) => oc.columns(['user_id', 'channel', 'category']).doUpdateSet({ opted_out: input.optOut, updated_at: new Date() })).execute();
        // Consent changes are evidence: who chose what, when.
        await tx.audit({ action: 'notify.preference.set', entityType: 'user', entityId: user, tenantId: tenantId || null, data: { channel: input.channel, category: input.category, optOut: input.optOut } });
        return { channel: input.channel, category: input.category, optOut: input.optOut };
      });
    },
  }),
};
