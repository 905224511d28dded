import { createHash } from 'node:crypto';
import { defineOperation, sql, z, type OperationContext } from '../../kernel/index.js';
import { ReferenceErrors } from './errors.js';
import { direction, localeChain, localeTag } from './locales.js';
import { MESSAGES_AREA, type ReferenceState } from './reference-state.js';
import { tenantChain, tenantCode } from './tenant-chain.js';

export const MESSAGE_MODULE = /^[a-z][a-z0-9_-]{0,39}$/;
export const MESSAGE_CODE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;
const messageModule = z.string().regex(MESSAGE_MODULE, 'lower case letters, digits, _ and -, such as core or tl');
const messageCode = z.string().regex(MESSAGE_CODE, 'letters, digits and _ . : - such as action.submit');
const modulesList = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,39}(,[a-z][a-z0-9_-]{0,39}){0,49}$/, 'comma-separated module names such as core,tl')
  .transform((s) => s.split(','));

export const bundleOut = z.object({
  tenant: z.string(),
  locale: z.string(),
  direction: z.enum(['ltr', 'rtl']),
  /** The locales looked in, in order: the asked one, its parents, then the default. */
  fallbacks: z.array(z.string()),
  messages: z.record(z.string(), z.record(z.string(), z.string())),
});
export type Bundle = z.infer<typeof bundleOut>;

export const bundleInput = z.object({ tenant: tenantCode, locale: localeTag, modules: modulesList.optional() });

/**
 * The messages `tenant` sees in `locale`: for each module and code, the nearest locale of the
 * fallback chain that has it (`hi-IN` → `hi` → `en`), and within that locale the nearest tenant
 * (a city's override before its state's text). Cached with its ETag until messages change.
 */
export function localeBundle(ctx: OperationContext, state: ReferenceState, input: z.output<typeof bundleInput>): Promise<{ bundle: Bundle; etag: string }> {
  const modules = input.modules ? [...new Set(input.modules)].sort() : undefined;
  return state.cache.get(MESSAGES_AREA, `${input.tenant}|${input.locale}|${modules?.join(',') ?? '*'}`, async () => {
    const tenants = tenantChain(input.tenant);
    const locales = localeChain(input.locale);
    let query = ctx.db.selectFrom('messages').select(['tenant_id', 'locale', 'module', 'code', 'message']).where('tenant_id', 'in', tenants).where('locale', 'in', locales);
    if (modules) query = query.where('module', 'in', modules);
    const rows = await query.execute();
    const rank = (r: any) => locales.indexOf(r.locale) * 1000 + tenants.indexOf(r.tenant_id);
    rows.sort((a, b) => rank(a) - rank(b) || (a.module < b.module ? -1 : a.module > b.module ? 1 : a.code < b.code ? -1 : 1));
    const messages: Record<string, Record<string, string>> = {};
    for (const row of rows) {
      const texts = (messages[row.module] ??= {});
      if (!(row.code in texts)) texts[row.code] = row.message;
    }
    // Stable key order, so equal content always gives the same ETag.
    const sorted = Object.fromEntries(Object.keys(messages).sort().map((m) => [m, Object.fromEntries(Object.entries(messages[m]!).sort(([a], [b]) => (a < b ? -1 : 1)))]));
    const bundle: Bundle = { tenant: input.tenant, locale: input.locale, direction: direction(input.locale), fallbacks: locales, messages: sorted };
    const etag = `"${createHash('sha256').update(JSON.stringify(bundle)).digest('base64url').slice(0, 27)}"`;
    return { bundle, etag };
  });
}

const messageOut = z.object({ tenantId: z.string(), locale: z.string(), module: z.string(), code: z.string(), message: z.string(), updatedAt: z.string() });

export function localizationOperations(state: ReferenceState) {
  return {
    upsertMessages: defineOperation({
      summary: 'Create or change messages of one tenant and locale in bulk (up to 5000)',
      permission: 'reference.localization.write',
      http: { method: 'PUT', path: '/localization/messages' },
      input: z.object({
        tenantId: tenantCode,
        locale: localeTag,
        messages: z.array(z.object({ module: messageModule, code: messageCode, message: z.string().min(1).max(5000) })).min(1).max(5000),
      }),
      output: z.object({ created: z.number().int(), updated: z.number().int(), unchanged: z.number().int() }),
      async handler(ctx, input) {
        const unique = new Map(input.messages.map((m) => [`${m.module}\u0000${m.code}`, m]));
        let created = 0;
        let updated = 0;
        await ctx.transaction(async (tx) => {
          const all = [...unique.values()];
          for (let i = 0; i < all.length; i += 1000) {
            const rows = await tx.db
              .insertInto('messages')
              .values(all.slice(i, i + 1000).map((m) => ({ tenant_id: input.tenantId, locale: input.locale, module: m.module, code: m.code, message: m.message })))
              .onConflict((oc) =>
                oc
                  .columns(['tenant_id', 'locale', 'module', 'code'])
                  .doUpdateSet((eb) => ({ message: eb.ref('excluded.message'), updated_at: new Date() }))
                  .where(sql`messages.message`, 'is distinct from', sql`excluded.message`),
              )
              // xmax is 0 for a row this statement inserted, set for one it updated.
              .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
              .execute();
            for (const r of rows) {
              if (r.inserted) created++;
              else updated++;
            }
          }
          if (created + updated > 0) {
            await tx.audit({ action: 'reference.messages.upserted', entityType: 'messages', entityId: input.locale, tenantId: input.tenantId, data: { locale: input.locale, created, updated } });
            await tx.emit({ name: 'reference.messages.changed', tenantId: input.tenantId, payload: { tenant: input.tenantId, locale: input.locale } });
            state.cache.drop(MESSAGES_AREA);
          }
        });
        return { created, updated, unchanged: unique.size - created - updated };
      },
    }),

    deleteMessage: defineOperation({
      summary: 'Delete one message of a tenant and locale (a parent tenant’s or locale’s text shows through again)',
      permission: 'reference.localization.write',
      http: { method: 'DELETE', path: '/localization/messages' },
      input: z.object({ tenantId: tenantCode, locale: localeTag, module: messageModule, code: messageCode }),
      output: z.object({ deleted: z.literal(true) }),
      async handler(ctx, input) {
        return ctx.transaction(async (tx) => {
          const row = await tx.db
            .deleteFrom('messages')
            .where('tenant_id', '=', input.tenantId)
            .where('locale', '=', input.locale)
            .where('module', '=', input.module)
            .where('code', '=', input.code)
            .returning('code')
            .executeTakeFirst();
          if (!row) throw ReferenceErrors.messageNotFound();
          await tx.audit({ action: 'reference.messages.deleted', entityType: 'messages', entityId: input.locale, tenantId: input.tenantId, data: { module: input.module, code: input.code } });
          await tx.emit({ name: 'reference.messages.changed', tenantId: input.tenantId, payload: { tenant: input.tenantId, locale: input.locale } });
          state.cache.drop(MESSAGES_AREA);
          return { deleted: true as const };
        });
      },
    }),

    listMessages: defineOperation({
      summary: 'A tenant’s own messages in one locale (for editing; the web app reads bundles)',
      permission: 'reference.localization.read',
      http: { method: 'GET', path: '/localization/messages' },
      readsInherited: true,
      input: z.object({ tenant: tenantCode, locale: localeTag, module: messageModule.optional() }),
      output: z.object({ items: z.array(messageOut) }),
      async handler(ctx, input) {
        let query = ctx.db.selectFrom('messages').selectAll().where('tenant_id', '=', input.tenant).where('locale', '=', input.locale).orderBy('module').orderBy('code');
        if (input.module) query = query.where('module', '=', input.module);
        const rows = await query.execute();
        return {
          items: rows.map((r: any) => ({ tenantId: r.tenant_id, locale: r.locale, module: r.module, code: r.code, message: r.message, updatedAt: new Date(r.updated_at).toISOString() })),
        };
      },
    }),

    localeBundle: defineOperation({
      summary: 'The resolved messages of a locale for a tenant (served with an ETag at GET /localization/bundles/:locale)',
      permission: 'public',
      input: bundleInput,
      output: bundleOut,
      handler: async (ctx, input) => (await localeBundle(ctx, state, input)).bundle,
    }),

    listLocales: defineOperation({
      summary: 'Locales that have messages for a tenant (its own or inherited), with their writing direction',
      permission: 'public',
      http: { method: 'GET', path: '/localization/locales' },
      input: z.object({ tenant: tenantCode }),
      output: z.object({ items: z.array(z.object({ locale: z.string(), direction: z.enum(['ltr', 'rtl']), messages: z.number().int() })) }),
      async handler(ctx, input) {
        const rows = await ctx.db
          .selectFrom('messages')
          .select(['locale', (eb) => eb.fn.countAll<string>().as('count')])
          .where('tenant_id', 'in', tenantChain(input.tenant))
          .groupBy('locale')
          .orderBy('locale')
          .execute();
        return { items: rows.map((r: any) => ({ locale: r.locale, direction: direction(r.locale), messages: Number(r.count) })) };
      },
    }),
  };
}
