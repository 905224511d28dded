import { defineOperation, newId, z, type ConsumerDef, type OperationContext, type SevaEvent } from '../../kernel/index.js';
import { category, channel, templateCode, type Channel } from './channels.js';
import { addressOf, findContacts, type Contact } from './contacts.js';
import { NotifyErrors } from './errors.js';
import { DEFAULT_LOCALE, tenantChain, tenantCode } from './fallbacks.js';
import type { ResolvedOptions } from './options.js';
import { queueMessages, type Draft } from './queue.js';
import { fill, resolveTemplate } from './templates.js';

export const SUBSCRIPTION_MANAGE = 'notify.subscription.manage';
export const SUBSCRIPTION_READ = 'notify.subscription.read';

const fieldPath = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,4}$/, 'a payload field such as applicantId or application.ownerId');
const roleCode = z.string().regex(/^[A-Z][A-Z0-9_]{0,49}$/, 'a role code such as GRO');

/** Who hears an event: the user named by a payload field (applicant, assignee), or everyone holding a role. */
export const audience = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('applicant'), field: fieldPath.default('applicantId') }),
  z.object({ kind: z.literal('assignee'), field: fieldPath.default('assigneeId') }),
  z.object({ kind: z.literal('role'), role: roleCode, boundaryField: fieldPath.optional().describe('a payload field holding a boundary code: only holders whose jurisdiction has it') }),
]);
type Audience = z.output<typeof audience>;

const subscriptionOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  event: z.string(),
  template: z.string(),
  audience,
  channels: z.array(channel),
  category: z.string(),
  mandatory: z.boolean(),
  status: z.enum(['active', 'disabled']),
  version: z.number().int(),
});

const view = (r: any): z.input<typeof subscriptionOut> => ({
  id: r.id,
  tenantId: r.tenant_id,
  event: r.event,
  template: r.template,
  audience: typeof r.audience === 'string' ? JSON.parse(r.audience) : r.audience,
  channels: typeof r.channels === 'string' ? JSON.parse(r.channels) : r.channels,
  category: r.category,
  mandatory: r.mandatory,
  status: r.status,
  version: Number(r.version),
});

function valueAt(payload: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), payload);
}

export function subscriptionOperations(options: ResolvedOptions) {
  return {
    createSubscription: defineOperation({
      summary: 'Make an event send a template to its applicant, assignee or a role, on some channels',
      description: 'A tenant’s subscription applies to events of the tenant and those below it; a child tenant’s subscription for the same event and template replaces its parent’s (a disabled one silences it).',
      permission: SUBSCRIPTION_MANAGE,
      http: { method: 'POST', path: '/subscriptions' },
      input: z.object({
        tenantId: tenantCode,
        event: z.string().min(3).max(100),
        template: templateCode,
        audience,
        channels: z.array(channel).min(1).max(3),
        category: category.default('status'),
        mandatory: z.boolean().default(false),
        status: z.enum(['active', 'disabled']).default('active'),
      }),
      output: subscriptionOut,
      async handler(ctx, input) {
        if (!options.events.includes(input.event)) throw NotifyErrors.eventNotSubscribable(input.event, options.events);
        const id = newId('sub');
        const row = { id, tenant_id: input.tenantId, event: input.event, template: input.template, audience: JSON.stringify(input.audience), channels: JSON.stringify([...new Set(input.channels)]), category: input.category, mandatory: input.mandatory, status: input.status };
        return ctx.transaction(async (tx) => {
          await tx.db.insertInto('subscriptions').values(row).execute();
          await tx.audit({ action: 'notify.subscription.created', entityType: 'subscription', entityId: id, tenantId: input.tenantId, data: { event: input.event, template: input.template, audience: input.audience, channels: input.channels, mandatory: input.mandatory } });
          return view({ ...row, version: 1 });
        });
      },
    }),

    listSubscriptions: defineOperation({
      summary: 'Subscriptions that apply to a tenant (its own and its parents’), optionally for one event',
      permission: SUBSCRIPTION_READ,
      http: { method: 'GET', path: '/subscriptions' },
      readsInherited: true,
      input: z.object({ tenant: tenantCode, event: z.string().min(3).max(100).optional() }),
      output: z.object({ items: z.array(subscriptionOut) }),
      async handler(ctx, input) {
        let query = ctx.db.selectFrom('subscriptions').selectAll().where('tenant_id', 'in', tenantChain(input.tenant)).orderBy('event').orderBy('tenant_id').orderBy('id');
        if (input.event) query = query.where('event', '=', input.event);
        return { items: (await query.execute()).map(view) };
      },
    }),

    updateSubscription: defineOperation({
      summary: 'Change a subscription’s channels, mandatory flag or status, with its current version',
      permission: SUBSCRIPTION_MANAGE,
      http: { method: 'PATCH', path: '/subscriptions/:id', status: 200 },
      input: z.object({ id: z.string().min(1).max(64), version: z.number().int().min(1), channels: z.array(channel).min(1).max(3).optional(), mandatory: z.boolean().optional(), status: z.enum(['active', 'disabled']).optional() }),
      output: subscriptionOut,
      async handler(ctx, input) {
        return ctx.transaction(async (tx) => {
          const current = await tx.db.selectFrom('subscriptions').selectAll().where('id', '=', input.id).forUpdate().executeTakeFirst();
          const actorTenant = ctx.actor.kind === 'user' ? ctx.actor.tenantId : undefined;
          if (!current || (actorTenant && current.tenant_id !== actorTenant && !current.tenant_id.startsWith(`${actorTenant}.`))) throw NotifyErrors.subscriptionNotFound();
          if (Number(current.version) !== input.version) throw NotifyErrors.staleVersion();
          const changes: Record<string, unknown> = { version: input.version + 1, updated_at: new Date() };
          if (input.channels) changes.channels = JSON.stringify([...new Set(input.channels)]);
          if (input.mandatory !== undefined) changes.mandatory = input.mandatory;
          if (input.status) changes.status = input.status;
          const row = await tx.db.updateTable('subscriptions').set(changes).where('id', '=', input.id).returningAll().executeTakeFirstOrThrow();
          await tx.audit({ action: 'notify.subscription.updated', entityType: 'subscription', entityId: input.id, tenantId: current.tenant_id, data: { channels: input.channels, mandatory: input.mandatory, status: input.status, version: input.version + 1 } });
          return view(row);
        });
      },
    }),
  };
}

/** The subscriptions an event of `tenant` triggers: per template, the nearest tenant’s, if active. */
async function subscriptionsFor(ctx: OperationContext, event: string, tenant: string): Promise<any[]> {
  const chain = tenantChain(tenant);
  const rows = await ctx.db.selectFrom('subscriptions').selectAll().where('event', '=', event).where('tenant_id', 'in', chain).execute();
  rows.sort((a, b) => chain.indexOf(a.tenant_id) - chain.indexOf(b.tenant_id) || (a.id < b.id ? -1 : 1));
  const nearest = new Map<string, any>();
  for (const r of rows) if (!nearest.has(r.template)) nearest.set(r.template, r);
  return [...nearest.values()].filter((r) => r.status === 'active');
}

async function recipientsOf(ctx: OperationContext, who: Audience, event: SevaEvent, tenant: string): Promise<Contact[]> {
  if (who.kind === 'role') {
    const boundary = who.boundaryField ? valueAt(event.payload, who.boundaryField) : undefined;
    if (who.boundaryField && typeof boundary !== 'string') return [];
    return findContacts(ctx, { tenant, role: who.role, ...(typeof boundary === 'string' ? { boundary } : {}) });
  }
  const id = valueAt(event.payload, who.field);
  if (typeof id !== 'string' || !id) return [];
  return findContacts(ctx, { tenant, userIds: [id] });
}

/**
 * Turns a domain event into messages: for each subscription, each recipient and each channel, the
 * template in the recipient's locale. The key event id + subscription + recipient + channel
 * keeps a redelivered event from sending twice. A missing variable fails the event (retried,
 * then a dead letter an administrator can replay once the template is fixed).
 */
export async function messagesForEvent(ctx: OperationContext, event: SevaEvent): Promise<number> {
  const tenant = event.tenantId;
  if (!tenant) return 0;
  const drafts: Draft[] = [];
  for (const sub of await subscriptionsFor(ctx, event.name, tenant)) {
    const who = audience.parse(typeof sub.audience === 'string' ? JSON.parse(sub.audience) : sub.audience);
    const channels: Channel[] = typeof sub.channels === 'string' ? JSON.parse(sub.channels) : sub.channels;
    const templates = new Map<string, Awaited<ReturnType<typeof resolveTemplate>>>();
    for (const contact of await recipientsOf(ctx, who, event, tenant)) {
      const locale = contact.locale ?? (typeof event.payload.locale === 'string' ? event.payload.locale : DEFAULT_LOCALE);
      for (const ch of channels) {
        const address = addressOf(contact, ch);
        if (!address) continue;
        const key = `${ch}|${locale}`;
        if (!templates.has(key)) templates.set(key, await resolveTemplate(ctx, tenant, sub.template, ch, locale));
        const row = templates.get(key);
        if (!row) {
          ctx.log.warn({ subscription: sub.id, template: sub.template, channel: ch }, 'no template for a subscribed channel; skipped');
          continue;
        }
        const rendered = fill(row, { ...event.payload, event: { id: event.id, name: event.name, occurredAt: event.occurredAt } }, 'payload');
        drafts.push({
          tenantId: tenant,
          channel: ch,
          userId: contact.id,
          recipient: address,
          locale: rendered.locale,
          template: rendered.template,
          category: sub.category,
          mandatory: sub.mandatory,
          subject: rendered.subject,
          body: rendered.body,
          html: rendered.html,
          sms: rendered.sms,
          dedupeKey: `${event.id}:${sub.id}:${contact.id}:${ch}`,
          eventId: event.id,
          subscriptionId: sub.id,
        });
      }
    }
  }
  const queued = await queueMessages(ctx, drafts, { action: 'notify.messages.queued', entityType: 'event', entityId: event.id, tenantId: tenant, data: { event: event.name } });
  return queued.filter((q) => !q.deduplicated).length;
}

export function eventConsumer(options: ResolvedOptions): ConsumerDef {
  return {
    events: options.events,
    handler: async (ctx, event) => {
      await messagesForEvent(ctx, event);
    },
  };
}
