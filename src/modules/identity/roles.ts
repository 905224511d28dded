import { defineOperation, newId, z, type OperationContext } from '../../kernel/index.js';
import { IdentityErrors } from './errors.js';
import { parentOf, tenantCode, tenantExists } from './tenants.js';

export const ROLE_CODE = /^[A-Z][A-Z0-9_]{1,40}$/;
export const PERMISSION = /^[a-z][a-z0-9]*(\.[a-z0-9]+)*(\.\*)?$/;

const roleOut = z.object({ id: z.string(), tenantId: z.string(), code: z.string(), name: z.string(), permissions: z.array(z.string()) });
type RoleOut = z.input<typeof roleOut>;

function toRole(row: any): RoleOut {
  const permissions = typeof row.permissions === 'string' ? JSON.parse(row.permissions) : row.permissions;
  return { id: row.id, tenantId: row.tenant_id, code: row.code, name: row.name, permissions };
}

export async function createRole(ctx: OperationContext, input: { tenantId: string; code: string; name: string; permissions: string[] }): Promise<RoleOut> {
  return ctx.transaction(async (tx) => {
    if (!(await tenantExists(ctx, input.tenantId))) throw IdentityErrors.tenantNotFound('body.tenantId');
    const id = newId('role');
    const permissions = [...new Set(input.permissions)];
    const row = await tx.db
      .insertInto('roles')
      // jsonb is passed as JSON text: both drivers would otherwise send a JS array as a SQL array.
      .values({ id, tenant_id: input.tenantId, code: input.code, name: input.name, permissions: JSON.stringify(permissions) })
      .onConflict((oc) => oc.columns(['tenant_id', 'code']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw IdentityErrors.roleExists(input.code);
    await tx.audit({ action: 'identity.role.created', entityType: 'role', entityId: id, tenantId: input.tenantId, data: { code: input.code, permissions } });
    return toRole(row);
  });
}

/** The role `code` as seen from `tenant`: defined there or in the nearest ancestor. */
export async function findRoleFor(ctx: OperationContext, code: string, tenant: string): Promise<RoleOut | undefined> {
  const chain: string[] = [];
  for (let t: string | null = tenant; t; t = parentOf(t)) chain.push(t);
  const rows = await ctx.db.selectFrom('roles').selectAll().where('code', '=', code).where('tenant_id', 'in', chain).execute();
  rows.sort((a, b) => String(b.tenant_id).length - String(a.tenant_id).length);
  return rows[0] ? toRole(rows[0]) : undefined;
}

export const roleOperations = {
  createRole: defineOperation({
    summary: 'Define a role (a named set of permissions) in a tenant',
    permission: 'identity.role.create',
    http: { method: 'POST', path: '/roles' },
    input: z.object({
      tenantId: tenantCode,
      code: z.string().regex(ROLE_CODE, 'upper case letters, digits and _, such as ADMIN'),
      name: z.string().trim().min(1).max(200),
      permissions: z.array(z.string().regex(PERMISSION, 'a permission such as identity.tenant.read or identity.*')).max(500),
    }),
    output: roleOut,
    handler: (ctx, input) => createRole(ctx, input),
  }),

  listRoles: defineOperation({
    summary: 'Roles defined in a tenant',
    permission: 'identity.role.read',
    http: { method: 'GET', path: '/roles' },
    readsInherited: true,
    input: z.object({ tenant: tenantCode }),
    output: z.object({ items: z.array(roleOut) }),
    async handler(ctx, input) {
      const rows = await ctx.db.selectFrom('roles').selectAll().where('tenant_id', '=', input.tenant).orderBy('code').execute();
      return { items: rows.map(toRole) };
    },
  }),
};
