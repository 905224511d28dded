import { can, defineOperation, newId, tenantCovers, z, type OperationContext } from '../../kernel/index.js';
import { IdentityErrors } from './errors.js';
import { hashPassword, passwordProblem } from './passwords.js';
import { maskEmail, maskMobile, normaliseEmail } from './pii.js';
import { findRoleFor } from './roles.js';
import { rootOf, tenantCode, tenantExists } from './tenants.js';

export const USERNAME = /^[a-z][a-z0-9._-]{2,40}$/;
export const MOBILE = /^[6-9][0-9]{9}$/;
export const PII_READ = 'identity.user.pii.read';

export const employeeOut = z.object({
  id: z.string(),
  kind: z.literal('employee'),
  tenantId: z.string(),
  username: z.string(),
  name: z.string(),
  mobile: z.string().nullable(),
  email: z.string().nullable(),
  status: z.enum(['active', 'locked', 'disabled']),
  locale: z.string().nullable(),
  roles: z.array(z.object({ role: z.string(), tenant: z.string() })),
  version: z.number().int(),
  createdAt: z.string(),
});
export type EmployeeOut = z.input<typeof employeeOut>;

export interface NewEmployee {
  tenantId: string;
  username: string;
  name: string;
  mobile?: string | undefined;
  email?: string | undefined;
  password: string;
  roles: Array<{ role: string; tenant: string }>;
}

export async function createEmployee(ctx: OperationContext, input: NewEmployee): Promise<EmployeeOut> {
  const weakness = passwordProblem(input.password, input.username);
  if (weakness) throw IdentityErrors.weakPassword(weakness);
  if (!(await tenantExists(ctx, input.tenantId))) throw IdentityErrors.tenantNotFound('body.tenantId');
  const roleIds: Array<{ roleId: string; tenant: string }> = [];
  for (const [index, assignment] of input.roles.entries()) {
    const role = await findRoleFor(ctx, assignment.role, assignment.tenant);
    if (!role) throw IdentityErrors.roleNotFound(index, assignment.role);
    roleIds.push({ roleId: role.id, tenant: assignment.tenant });
  }
  // Sealed and indexed before the transaction: the key ring may create the tenant's data key.
  const t = input.tenantId;
  const email = input.email === undefined ? undefined : normaliseEmail(input.email);
  const sealed = {
    mobile_enc: input.mobile ? await ctx.crypto.encrypt(t, input.mobile) : null,
    mobile_bidx: input.mobile ? ctx.crypto.blindIndex(t, 'mobile', input.mobile) : null,
    email_enc: email ? await ctx.crypto.encrypt(t, email) : null,
    email_bidx: email ? ctx.crypto.blindIndex(t, 'email', email) : null,
  };
  const passwordHash = await hashPassword(input.password);
  const id = newId('usr');
  await ctx.transaction(async (tx) => {
    const row = await tx.db
      .insertInto('users')
      .values({ id, kind: 'employee', tenant_id: t, root_tenant: rootOf(t), username: input.username, name: input.name, password_hash: passwordHash, ...sealed })
      .onConflict((oc) => oc.columns(['root_tenant', 'username']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!row) throw IdentityErrors.usernameTaken();
    for (const r of roleIds) {
      await tx.db.insertInto('user_roles').values({ user_id: id, role_id: r.roleId, tenant_id: r.tenant }).onConflict((oc) => oc.doNothing()).execute();
    }
    await tx.audit({ action: 'identity.user.created', entityType: 'user', entityId: id, tenantId: t, data: { kind: 'employee', roles: input.roles } });
    await tx.emit({ name: 'identity.user.created', tenantId: t, payload: { userId: id, kind: 'employee' } });
  });
  return readEmployee(ctx, id, false);
}

export async function rolesOf(ctx: OperationContext, userId: string): Promise<Array<{ role: string; tenant: string; permissions: string[] }>> {
  const rows = await ctx.db
    .selectFrom('user_roles')
    .innerJoin('roles', 'roles.id', 'user_roles.role_id')
    .select(['roles.code as code', 'user_roles.tenant_id as tenant', 'roles.permissions as permissions'])
    .where('user_roles.user_id', '=', userId)
    .orderBy('roles.code')
    .execute();
  return rows.map((r) => ({
    role: String(r.code),
    tenant: String(r.tenant),
    permissions: typeof r.permissions === 'string' ? JSON.parse(r.permissions) : (r.permissions as string[]),
  }));
}

export async function readEmployee(ctx: OperationContext, id: string, plain: boolean): Promise<EmployeeOut> {
  const row = await ctx.db.selectFrom('users').selectAll().where('id', '=', id).where('kind', '=', 'employee').executeTakeFirst();
  if (!row) throw IdentityErrors.userNotFound();
  const mobile = row.mobile_enc ? await ctx.crypto.decrypt(row.tenant_id, row.mobile_enc) : null;
  const email = row.email_enc ? await ctx.crypto.decrypt(row.tenant_id, row.email_enc) : null;
  return {
    id: row.id,
    kind: 'employee',
    tenantId: row.tenant_id,
    username: row.username,
    name: row.name,
    mobile: mobile && !plain ? maskMobile(mobile) : mobile,
    email: email && !plain ? maskEmail(email) : email,
    status: row.status,
    locale: row.locale ?? null,
    roles: (await rolesOf(ctx, id)).map(({ role, tenant }) => ({ role, tenant })),
    version: Number(row.version),
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export const employeeOperations = {
  createEmployee: defineOperation({
    summary: 'Create an employee account with roles',
    permission: 'identity.user.create',
    http: { method: 'POST', path: '/employees' },
    // Granting a role in a tenant is acting on it: an administrator cannot grant outside its own.
    tenantField: ['tenantId', 'roles[].tenant'],
    input: z.object({
      tenantId: tenantCode,
      username: z.string().regex(USERNAME, 'lower case letters, digits, ".", "_" or "-", 3 to 41 characters, starting with a letter'),
      name: z.string().trim().min(1).max(200),
      mobile: z.string().regex(MOBILE, 'a 10-digit Indian mobile number').optional(),
      email: z.email().max(254).optional(),
      password: z.string().min(1).max(200),
      roles: z.array(z.object({ role: z.string().min(1).max(41), tenant: tenantCode })).max(50).default([]),
    }),
    output: employeeOut,
    handler: (ctx, input) => createEmployee(ctx, input),
  }),

  getEmployee: defineOperation({
    summary: 'Read an employee; mobile and email are masked unless the caller may read PII',
    permission: 'identity.user.read',
    http: { method: 'GET', path: '/employees/:id' },
    input: z.object({ id: z.string().min(1).max(64) }),
    output: employeeOut,
    async handler(ctx, input) {
      const plain = can(ctx.actor, PII_READ);
      const employee = await readEmployee(ctx, input.id, plain);
      // Another tenant's employee does not exist for this caller.
      if (ctx.actor.kind === 'user' && ctx.actor.tenantId && !tenantCovers(ctx.actor.tenantId, employee.tenantId)) throw IdentityErrors.userNotFound();
      if (plain && (employee.mobile || employee.email)) {
        // Every look at plain PII leaves a trace in the audit log.
        await ctx.transaction((tx) =>
          tx.audit({ action: PII_READ, entityType: 'user', entityId: employee.id, tenantId: employee.tenantId, data: { fields: ['mobile', 'email'].filter((f) => employee[f as 'mobile' | 'email']) } }),
        );
      }
      return employee;
    },
  }),

  findEmployees: defineOperation({
    summary: 'Find employees of a tenant by exact mobile number (through its blind index)',
    permission: 'identity.user.read',
    http: { method: 'GET', path: '/employees' },
    input: z.object({ tenantId: tenantCode, mobile: z.string().regex(MOBILE, 'a 10-digit Indian mobile number') }),
    output: z.object({ items: z.array(z.object({ id: z.string(), username: z.string(), name: z.string() })) }),
    async handler(ctx, input) {
      const rows = await ctx.db
        .selectFrom('users')
        .select(['id', 'username', 'name'])
        .where('tenant_id', '=', input.tenantId)
        .where('kind', '=', 'employee')
        .where('mobile_bidx', '=', ctx.crypto.blindIndex(input.tenantId, 'mobile', input.mobile))
        .orderBy('username')
        .execute();
      return { items: rows.map((r) => ({ id: String(r.id), username: String(r.username), name: String(r.name) })) };
    },
  }),
};
