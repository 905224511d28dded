import { defineOperation, KernelErrors, newId, sql, tenantCovers, z, type OperationContext } from '../../kernel/index.js';
import { IdentityErrors, StaffErrors } from './errors.js';
import { rolesOf } from './employees.js';
import { findRoleFor } from './roles.js';
import { parentOf, tenantCode, tenantExists } from './tenants.js';

/**
 * Staff (HRMS): departments and designations per tenant, employees' assignments to them with a
 * jurisdiction (boundary codes; free strings until a boundary module exists), and role changes.
 */
export const STAFF_CODE = /^[A-Z][A-Z0-9_]{1,40}$/;
const MANAGE = 'identity.staff.manage';
const READ = 'identity.staff.read';

const unitOut = z.object({ id: z.string(), tenantId: z.string(), code: z.string(), name: z.string() });
type Unit = z.input<typeof unitOut>;
const unitInput = z.object({
  tenantId: tenantCode,
  code: z.string().regex(STAFF_CODE, 'upper case letters, digits and _, such as REV'),
  name: z.string().trim().min(1).max(200),
});

type UnitTable = 'departments' | 'designations';

export async function createUnit(ctx: OperationContext, table: UnitTable, input: { tenantId: string; code: string; name: string }): Promise<Unit> {
  if (!(await tenantExists(ctx, input.tenantId))) throw IdentityErrors.tenantNotFound('body.tenantId');
  const id = newId(table === 'departments' ? 'dep' : 'dsg');
  return ctx.transaction(async (tx) => {
    const row = await tx.db
      .insertInto(table)
      .values({ id, tenant_id: input.tenantId, code: input.code, name: input.name })
      .onConflict((oc) => oc.columns(['tenant_id', 'code']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!row) throw StaffErrors.exists(table, input.code);
    const entity = table === 'departments' ? 'department' : 'designation';
    await tx.audit({ action: `identity.${entity}.created`, entityType: entity, entityId: id, tenantId: input.tenantId, data: { code: input.code } });
    return { id, tenantId: input.tenantId, code: input.code, name: input.name };
  });
}

/** The unit `code` as seen from `tenant`: defined there or in the nearest ancestor. */
async function findUnitFor(ctx: OperationContext, table: UnitTable, code: string, tenant: string): Promise<Unit | undefined> {
  const chain: string[] = [];
  for (let t: string | null = tenant; t; t = parentOf(t)) chain.push(t);
  const rows = await ctx.db.selectFrom(table).select(['id', 'tenant_id', 'code', 'name']).where('code', '=', code).where('tenant_id', 'in', chain).execute();
  rows.sort((a, b) => String(b.tenant_id).length - String(a.tenant_id).length);
  const r = rows[0];
  return r ? { id: String(r.id), tenantId: String(r.tenant_id), code: String(r.code), name: String(r.name) } : undefined;
}

async function listUnits(ctx: OperationContext, table: UnitTable, tenant: string): Promise<{ items: Unit[] }> {
  const rows = await ctx.db.selectFrom(table).select(['id', 'tenant_id', 'code', 'name']).where('tenant_id', '=', tenant).orderBy('code').execute();
  return { items: rows.map((r) => ({ id: String(r.id), tenantId: String(r.tenant_id), code: String(r.code), name: String(r.name) })) };
}

export async function employeeTenant(ctx: OperationContext, id: string): Promise<string> {
  const row = await ctx.db.selectFrom('users').select('tenant_id').where('id', '=', id).where('kind', '=', 'employee').executeTakeFirst();
  // An employee of a tenant outside the caller's is answered as unknown, as getEmployee does.
  const outside = ctx.actor.kind === 'user' && ctx.actor.tenantId && row && !tenantCovers(ctx.actor.tenantId, String(row.tenant_id));
  if (!row || outside) throw IdentityErrors.userNotFound();
  return String(row.tenant_id);
}

const assignmentOut = z.object({
  id: z.string(),
  employeeId: z.string(),
  tenantId: z.string(),
  department: z.string(),
  designation: z.string(),
  jurisdiction: z.array(z.string()),
  from: z.string(),
  to: z.string().nullable(),
  primary: z.boolean(),
});
type AssignmentOut = z.input<typeof assignmentOut>;

async function assignmentsOf(ctx: OperationContext, employeeId: string): Promise<AssignmentOut[]> {
  const rows = await ctx.db
    .selectFrom('assignments as a')
    .innerJoin('departments as d', 'd.id', 'a.department_id')
    .innerJoin('designations as g', 'g.id', 'a.designation_id')
    .select([
      'a.id as id',
      'a.user_id as user_id',
      'a.tenant_id as tenant_id',
      'd.code as department',
      'g.code as designation',
      'a.jurisdiction as jurisdiction',
      // Text, not Date: a date has no time zone and the drivers would give it one.
      sql<string>`to_char(a.from_date, 'YYYY-MM-DD')`.as('from_date'),
      sql<string | null>`to_char(a.to_date, 'YYYY-MM-DD')`.as('to_date'),
      'a.is_primary as is_primary',
    ])
    .where('a.user_id', '=', employeeId)
    .orderBy('a.from_date')
    .orderBy('a.id')
    .execute();
  return rows.map((r) => ({
    id: String(r.id),
    employeeId: String(r.user_id),
    tenantId: String(r.tenant_id),
    department: String(r.department),
    designation: String(r.designation),
    jurisdiction: typeof r.jurisdiction === 'string' ? JSON.parse(r.jurisdiction) : (r.jurisdiction as string[]),
    from: r.from_date,
    to: r.to_date ?? null,
    primary: Boolean(r.is_primary),
  }));
}

const roleAssignment = z.object({ role: z.string().min(1).max(41), tenant: tenantCode });

export const staffOperations = {
  createDepartment: defineOperation({
    summary: 'Define a department in a tenant',
    permission: MANAGE,
    http: { method: 'POST', path: '/departments' },
    input: unitInput,
    output: unitOut,
    handler: (ctx, input) => createUnit(ctx, 'departments', input),
  }),
  listDepartments: defineOperation({
    summary: 'Departments defined in a tenant',
    permission: READ,
    http: { method: 'GET', path: '/departments' },
    readsInherited: true,
    input: z.object({ tenant: tenantCode }),
    output: z.object({ items: z.array(unitOut) }),
    handler: (ctx, input) => listUnits(ctx, 'departments', input.tenant),
  }),
  createDesignation: defineOperation({
    summary: 'Define a designation (a post, such as CLERK) in a tenant',
    permission: MANAGE,
    http: { method: 'POST', path: '/designations' },
    input: unitInput,
    output: unitOut,
    handler: (ctx, input) => createUnit(ctx, 'designations', input),
  }),
  listDesignations: defineOperation({
    summary: 'Designations defined in a tenant',
    permission: READ,
    http: { method: 'GET', path: '/designations' },
    readsInherited: true,
    input: z.object({ tenant: tenantCode }),
    output: z.object({ items: z.array(unitOut) }),
    handler: (ctx, input) => listUnits(ctx, 'designations', input.tenant),
  }),

  assignEmployee: defineOperation({
    summary: 'Assign an employee to a department and designation, over a jurisdiction, for a period',
    permission: MANAGE,
    http: { method: 'POST', path: '/employees/:id/assignments' },
    input: z.object({
      id: z.string().min(1).max(64),
      department: z.string().regex(STAFF_CODE, 'a department code such as REV'),
      designation: z.string().regex(STAFF_CODE, 'a designation code such as CLERK'),
      jurisdiction: z.array(z.string().min(1).max(100)).min(1).max(200),
      from: z.iso.date(),
      to: z.iso.date().optional(),
      primary: z.boolean().default(false),
    }),
    output: assignmentOut,
    async handler(ctx, input) {
      // Checked here rather than with a refine: the kernel builds the request schema from the object's shape.
      if (input.to !== undefined && input.to < input.from) throw KernelErrors.validation([{ path: 'body.to', message: 'must not be before from' }]);
      const tenantId = await employeeTenant(ctx, input.id);
      const department = await findUnitFor(ctx, 'departments', input.department, tenantId);
      if (!department) throw StaffErrors.notFound('department', input.department);
      const designation = await findUnitFor(ctx, 'designations', input.designation, tenantId);
      if (!designation) throw StaffErrors.notFound('designation', input.designation);
      const id = newId('asg');
      const jurisdiction = [...new Set(input.jurisdiction)];
      await ctx.transaction(async (tx) => {
        // One primary assignment at a time: a new primary one demotes the others.
        if (input.primary) await tx.db.updateTable('assignments').set({ is_primary: false }).where('user_id', '=', input.id).where('is_primary', '=', true).execute();
        await tx.db
          .insertInto('assignments')
          .values({
            id,
            user_id: input.id,
            tenant_id: tenantId,
            department_id: department.id,
            designation_id: designation.id,
            jurisdiction: JSON.stringify(jurisdiction),
            from_date: input.from,
            to_date: input.to ?? null,
            is_primary: input.primary,
          })
          .execute();
        const facts = { assignmentId: id, employeeId: input.id, department: department.code, designation: designation.code, jurisdiction, from: input.from, to: input.to ?? null, primary: input.primary };
        await tx.audit({ action: 'identity.employee.assigned', entityType: 'user', entityId: input.id, tenantId, data: facts });
        await tx.emit({ name: 'identity.employee.assigned', tenantId, payload: facts });
      });
      const created = (await assignmentsOf(ctx, input.id)).find((a) => a.id === id);
      if (!created) throw IdentityErrors.userNotFound();
      return created;
    },
  }),

  listAssignments: defineOperation({
    summary: 'An employee’s assignments, oldest first',
    permission: READ,
    http: { method: 'GET', path: '/employees/:id/assignments' },
    input: z.object({ id: z.string().min(1).max(64) }),
    output: z.object({ items: z.array(assignmentOut) }),
    async handler(ctx, input) {
      await employeeTenant(ctx, input.id);
      return { items: await assignmentsOf(ctx, input.id) };
    },
  }),

  changeRoles: defineOperation({
    summary: 'Replace an employee’s roles; audited with the roles before and after',
    permission: 'identity.user.roles.change',
    http: { method: 'PUT', path: '/employees/:id/roles', status: 200 },
    tenantField: ['roles[].tenant'],
    input: z.object({ id: z.string().min(1).max(64), roles: z.array(roleAssignment).max(50) }),
    output: z.object({ id: z.string(), roles: z.array(z.object({ role: z.string(), tenant: z.string() })) }),
    async handler(ctx, input) {
      const tenantId = await employeeTenant(ctx, input.id);
      const roleIds: Array<{ roleId: string; tenant: string }> = [];
      for (const [index, assignment] of input.roles.entries()) {
        const role = await findRoleFor(ctx, assignment.role, assignment.tenant);
        if (!role) throw IdentityErrors.roleNotFound(index, assignment.role);
        roleIds.push({ roleId: role.id, tenant: assignment.tenant });
      }
      const before = (await rolesOf(ctx, input.id)).map(({ role, tenant }) => ({ role, tenant }));
      const seen = new Set<string>();
      const after = input.roles
        .filter((r) => !seen.has(`${r.role}@${r.tenant}`) && Boolean(seen.add(`${r.role}@${r.tenant}`)))
        .sort((x, y) => x.role.localeCompare(y.role) || x.tenant.localeCompare(y.tenant));
      // The change, its audit entry and its event commit together.
      await ctx.transaction(async (tx) => {
        await tx.db.deleteFrom('user_roles').where('user_id', '=', input.id).execute();
        for (const r of roleIds) {
          await tx.db.insertInto('user_roles').values({ user_id: input.id, role_id: r.roleId, tenant_id: r.tenant }).onConflict((oc) => oc.doNothing()).execute();
        }
        await tx.audit({ action: 'identity.user.roles.changed', entityType: 'user', entityId: input.id, tenantId, data: { before, after } });
        await tx.emit({ name: 'identity.user.roles.changed', tenantId, payload: { userId: input.id, before, after } });
      });
      return { id: input.id, roles: after };
    },
  }),
};
