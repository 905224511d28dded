import { defineOperation, TENANT_CODE, tenantCode, z, type OperationContext } from '../../kernel/index.js';
import { IdentityErrors } from './errors.js';

export { TENANT_CODE, tenantCode };

const tenantOut = z.object({
  code: z.string(),
  parent: z.string().nullable(),
  name: z.string(),
  status: z.enum(['active', 'disabled']),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
type TenantOut = z.input<typeof tenantOut>;

/** The parent of `in.ka.bengaluru` is `in.ka`; a root (`in`) has none. */
export function parentOf(code: string): string | null {
  const at = code.lastIndexOf('.');
  return at < 0 ? null : code.slice(0, at);
}

export function rootOf(code: string): string {
  return code.split('.')[0]!;
}

function toTenant(row: any): TenantOut {
  return {
    code: row.code,
    parent: row.parent_code ?? null,
    name: row.name,
    status: row.status,
    version: Number(row.version),
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export async function tenantExists(ctx: OperationContext, code: string): Promise<boolean> {
  return !!(await ctx.db.selectFrom('tenants').select('code').where('code', '=', code).executeTakeFirst());
}

export async function createTenant(ctx: OperationContext, input: { code: string; name: string }): Promise<TenantOut> {
  const parent = parentOf(input.code);
  return ctx.transaction(async (tx) => {
    if (parent && !(await tx.db.selectFrom('tenants').select('code').where('code', '=', parent).executeTakeFirst())) {
      throw IdentityErrors.parentTenantMissing(parent);
    }
    const row = await tx.db
      .insertInto('tenants')
      .values({ code: input.code, parent_code: parent, name: input.name })
      .onConflict((oc) => oc.column('code').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw IdentityErrors.tenantExists(input.code);
    await tx.audit({ action: 'identity.tenant.created', entityType: 'tenant', entityId: input.code, tenantId: input.code, data: { parent } });
    await tx.emit({ name: 'identity.tenant.created', tenantId: input.code, payload: { code: input.code, parent } });
    return toTenant(row);
  });
}

const PAGE_CURSOR = /^[A-Za-z0-9_-]{1,200}$/;

export const tenantOperations = {
  createTenant: defineOperation({
    summary: 'Create a tenant under an existing parent (or a root)',
    permission: 'identity.tenant.create',
    http: { method: 'POST', path: '/tenants' },
    tenantField: 'code',
    input: z.object({ code: tenantCode, name: z.string().trim().min(1).max(200) }),
    output: tenantOut,
    handler: (ctx, input) => createTenant(ctx, input),
  }),

  listTenants: defineOperation({
    summary: 'List the caller’s tenant and those below it in code order, optionally only the children of one',
    permission: 'identity.tenant.read',
    http: { method: 'GET', path: '/tenants' },
    tenantField: 'parent',
    input: z.object({
      parent: tenantCode.optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
      cursor: z.string().regex(PAGE_CURSOR, 'a cursor from a previous page').optional(),
    }),
    output: z.object({ items: z.array(tenantOut), nextCursor: z.string().nullable() }),
    async handler(ctx, input) {
      let query = ctx.db.selectFrom('tenants').selectAll().orderBy('code').limit(input.limit + 1);
      if (input.parent) query = query.where('parent_code', '=', input.parent);
      // A tenant's user sees its own subtree; the platform sees every tenant.
      const own = ctx.actor.kind === 'user' ? ctx.actor.tenantId : undefined;
      if (own) query = query.where((eb) => eb.or([eb('code', '=', own), eb('code', 'like', `${own.replaceAll('_', '\\_')}.%`)]));
      // The cursor is the last code of the previous page, base64url so it stays opaque to callers.
      if (input.cursor) query = query.where('code', '>', Buffer.from(input.cursor, 'base64url').toString('utf8'));
      const rows = await query.execute();
      const page = rows.slice(0, input.limit);
      const more = rows.length > input.limit;
      return {
        items: page.map(toTenant),
        nextCursor: more ? Buffer.from(String(page[page.length - 1]!.code), 'utf8').toString('base64url') : null,
      };
    },
  }),

  getTenant: defineOperation({
    summary: 'Read one tenant',
    permission: 'identity.tenant.read',
    http: { method: 'GET', path: '/tenants/:code' },
    tenantField: 'code',
    input: z.object({ code: tenantCode }),
    output: tenantOut,
    async handler(ctx, input) {
      const row = await ctx.db.selectFrom('tenants').selectAll().where('code', '=', input.code).executeTakeFirst();
      if (!row) throw IdentityErrors.tenantNotFound('code');
      return toTenant(row);
    },
  }),

  updateTenant: defineOperation({
    summary: 'Rename, disable or enable a tenant; `version` must be the one last read',
    permission: 'identity.tenant.update',
    http: { method: 'PATCH', path: '/tenants/:code' },
    tenantField: 'code',
    input: z.object({
      code: tenantCode,
      version: z.number().int().min(1),
      name: z.string().trim().min(1).max(200).optional(),
      status: z.enum(['active', 'disabled']).optional(),
    }),
    output: tenantOut,
    async handler(ctx, input) {
      return ctx.transaction(async (tx) => {
        const changes: Record<string, unknown> = {};
        if (input.name !== undefined) changes.name = input.name;
        if (input.status !== undefined) changes.status = input.status;
        const row = await tx.db
          .updateTable('tenants')
          .set((eb) => ({ ...changes, version: eb('version', '+', 1), updated_at: new Date() }))
          .where('code', '=', input.code)
          .where('version', '=', input.version)
          .returningAll()
          .executeTakeFirst();
        if (!row) {
          const exists = await tx.db.selectFrom('tenants').select('code').where('code', '=', input.code).executeTakeFirst();
          throw exists ? IdentityErrors.staleVersion() : IdentityErrors.tenantNotFound('code');
        }
        const changed = Object.keys(changes);
        await tx.audit({ action: 'identity.tenant.updated', entityType: 'tenant', entityId: input.code, tenantId: input.code, data: { changed, version: row.version } });
        await tx.emit({ name: 'identity.tenant.updated', tenantId: input.code, payload: { code: input.code, changed, status: row.status } });
        return toTenant(row);
      });
    },
  }),
};
