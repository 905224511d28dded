import { defineOperation, KernelErrors, sql, z, type OperationContext } from '../../kernel/index.js';
import { tenantCode } from './tenants.js';

/**
 * How to reach users, for the notification module: plain mobile and e-mail (decrypted), so the
 * permission is its own and every read is audited with the users it returned.
 */
export const CONTACT_READ = 'identity.contact.read';

const contactOut = z.object({ id: z.string(), tenantId: z.string(), kind: z.enum(['employee', 'citizen']), name: z.string().nullable(), locale: z.string().nullable(), mobile: z.string().nullable(), email: z.string().nullable() });

/** `in.ka.bengaluru` → itself and the tenants above it, nearest first. */
function chainOf(tenant: string): string[] {
  const parts = tenant.split('.');
  return parts.map((_, i) => parts.slice(0, parts.length - i).join('.'));
}

export const contactOperations = {
  listContacts: defineOperation({
    summary: 'Contacts (mobile, e-mail, locale) of active users: by id, or holding a role that covers the tenant, optionally within a boundary of their jurisdiction',
    description: 'Give `userIds` (users of the tenant or below) or `role` (granted at the tenant or above). With `boundary`, only role holders with a current assignment whose jurisdiction names it. Audited.',
    permission: CONTACT_READ,
    http: { method: 'POST', path: '/contacts/search', status: 200 },
    input: z.object({
      tenant: tenantCode,
      userIds: z.array(z.string().min(1).max(64)).min(1).max(1000).optional(),
      role: z.string().regex(/^[A-Z][A-Z0-9_]{0,49}$/, 'a role code such as GRO').optional(),
      boundary: z.string().min(1).max(100).optional(),
    }),
    output: z.object({ items: z.array(contactOut) }),
    async handler(ctx, input) {
      // Checked here rather than with a refine: the kernel builds the request schema from the object's shape.
      if ((input.userIds === undefined) === (input.role === undefined)) throw KernelErrors.validation([{ path: 'body.userIds', message: 'give exactly one of userIds and role' }]);
      if (input.boundary !== undefined && input.role === undefined) throw KernelErrors.validation([{ path: 'body.boundary', message: 'only with role' }]);
      const rows = input.userIds ? await byIds(ctx, input.tenant, input.userIds) : await byRole(ctx, input.tenant, input.role!, input.boundary);
      const items: Array<z.input<typeof contactOut>> = [];
      for (const r of rows) {
        items.push({
          id: r.id,
          tenantId: r.tenant_id,
          kind: r.kind,
          name: r.name ? String(r.name) : null,
          locale: r.locale ?? null,
          mobile: r.mobile_enc ? await ctx.crypto.decrypt(r.tenant_id, r.mobile_enc) : null,
          email: r.email_enc ? await ctx.crypto.decrypt(r.tenant_id, r.email_enc) : null,
        });
      }
      if (items.length > 0) {
        await ctx.transaction((tx) => tx.audit({ action: CONTACT_READ, entityType: 'users', entityId: items[0]!.id, tenantId: input.tenant, data: { users: items.map((i) => i.id), role: input.role ?? null } }));
      }
      return { items };
    },
  }),
};

function byIds(ctx: OperationContext, tenant: string, ids: string[]) {
  return ctx.db
    .selectFrom('users')
    .selectAll()
    .where('id', 'in', [...new Set(ids)])
    .where('status', '=', 'active')
    .where((eb) => eb.or([eb('tenant_id', '=', tenant), eb('tenant_id', 'like', `${tenant}.%`)]))
    .orderBy('id')
    .execute();
}

function byRole(ctx: OperationContext, tenant: string, role: string, boundary: string | undefined) {
  let query = ctx.db
    .selectFrom('users as u')
    .innerJoin('user_roles as ur', 'ur.user_id', 'u.id')
    .innerJoin('roles as r', 'r.id', 'ur.role_id')
    .selectAll('u')
    .distinct()
    .where('r.code', '=', role)
    .where('ur.tenant_id', 'in', chainOf(tenant))
    .where('u.status', '=', 'active');
  if (boundary !== undefined) {
    query = query.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('assignments as a')
          .select('a.id')
          .whereRef('a.user_id', '=', 'u.id')
          .where(sql<boolean>`a.jurisdiction @> ${JSON.stringify([boundary])}::jsonb`)
          .where('a.from_date', '<=', sql<string>`current_date`)
          .where((eb) => eb.or([eb('a.to_date', 'is', null), eb('a.to_date', '>=', sql<string>`current_date`)])),
      ),
    );
  }
  return query.orderBy('u.id').limit(5000).execute();
}
