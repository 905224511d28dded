import { newId, type OperationContext } from '../../kernel/index.js';
import { createEmployee } from './employees.js';
import { hashPassword, randomPassword } from './passwords.js';
import { createRole } from './roles.js';
import { createUnit } from './staff.js';

const DEPARTMENTS = [
  { code: 'REV', name: 'Revenue' },
  { code: 'HLTH', name: 'Health' },
  { code: 'ENG', name: 'Engineering' },
];
const DESIGNATIONS = [
  { code: 'CLERK', name: 'Clerk' },
  { code: 'INSPECTOR', name: 'Inspector' },
  { code: 'SUPERINTENDENT', name: 'Superintendent' },
];
/**
 * Roles the example services will need. Their permissions are placeholders (read access to the
 * identity directory, and the tenant's documents) until the service modules that define the real ones exist.
 */
const PLACEHOLDER = ['identity.tenant.read', 'identity.staff.read', 'files.file.upload', 'files.file.read', 'files.any.read', 'files.file.attach'];
/** Working a workflow inbox: read definitions and records, act, claim. */
const WORKFLOW_ACT = ['workflow.definition.read', 'workflow.process.read', 'workflow.transition', 'workflow.process.claim', 'workflow.inbox.read'];
/** Supervisors also reassign records and read SLA figures. */
const WORKFLOW_SUPERVISE = [...WORKFLOW_ACT, 'workflow.process.reassign', 'workflow.sla.read'];
const ROLES = [
  { code: 'COUNTER_EMPLOYEE', name: 'Counter employee', permissions: [...PLACEHOLDER, ...WORKFLOW_ACT, 'workflow.process.start'] },
  { code: 'FIELD_INSPECTOR', name: 'Field inspector', permissions: [...PLACEHOLDER, ...WORKFLOW_ACT] },
  { code: 'APPROVER', name: 'Approver', permissions: [...PLACEHOLDER, ...WORKFLOW_SUPERVISE] },
  { code: 'GRO', name: 'Grievance routing officer', permissions: [...PLACEHOLDER, ...WORKFLOW_SUPERVISE, 'workflow.process.start'] },
  { code: 'CASHIER', name: 'Cashier', permissions: PLACEHOLDER },
];
const EMPLOYEES = [
  { city: 'in.ka.bengaluru', username: 'clerk1', name: 'Counter Clerk One', role: 'COUNTER_EMPLOYEE', department: 'REV', designation: 'CLERK', label: 'counter clerk (tenant in.ka.bengaluru)' },
  { city: 'in.ka.bengaluru', username: 'inspector1', name: 'Field Inspector One', role: 'FIELD_INSPECTOR', department: 'HLTH', designation: 'INSPECTOR', label: 'field inspector (tenant in.ka.bengaluru)' },
  { city: 'in.ka.mysuru', username: 'clerk2', name: 'Counter Clerk Two', role: 'COUNTER_EMPLOYEE', department: 'REV', designation: 'CLERK', label: 'counter clerk (tenant in.ka.mysuru)' },
];

/** Departments, designations and service roles (tenant `in`), two Bengaluru employees and one in Mysuru. */
export async function seedStaff(ctx: OperationContext): Promise<Array<{ label: string; value: string }>> {
  for (const [table, units] of [['departments', DEPARTMENTS], ['designations', DESIGNATIONS]] as const) {
    for (const unit of units) {
      const exists = await ctx.db.selectFrom(table).select('id').where('tenant_id', '=', 'in').where('code', '=', unit.code).executeTakeFirst();
      if (!exists) await createUnit(ctx, table, { tenantId: 'in', ...unit });
    }
  }
  for (const role of ROLES) {
    const exists = await ctx.db.selectFrom('roles').select('id').where('tenant_id', '=', 'in').where('code', '=', role.code).executeTakeFirst();
    if (!exists) await createRole(ctx, { tenantId: 'in', ...role });
  }
  const credentials: Array<{ label: string; value: string }> = [];
  for (const e of EMPLOYEES) {
    const password = randomPassword(16);
    const existing = await ctx.db.selectFrom('users').select('id').where('root_tenant', '=', 'in').where('username', '=', e.username).executeTakeFirst();
    if (existing) {
      // Seeding again gives a new password, so the printed one always works.
      const passwordHash = await hashPassword(password);
      await ctx.transaction(async (tx) => {
        await tx.db.updateTable('users').set({ password_hash: passwordHash, status: 'active', failed_logins: 0, locked_until: null, updated_at: new Date() }).where('id', '=', existing.id).execute();
        await tx.audit({ action: 'identity.user.password_reset', entityType: 'user', entityId: String(existing.id), tenantId: e.city, data: { by: 'seed' } });
      });
    } else {
      const employee = await createEmployee(ctx, { tenantId: e.city, username: e.username, name: e.name, password, roles: [{ role: e.role, tenant: e.city }] });
      const department = await ctx.db.selectFrom('departments').select('id').where('tenant_id', '=', 'in').where('code', '=', e.department).executeTakeFirstOrThrow();
      const designation = await ctx.db.selectFrom('designations').select('id').where('tenant_id', '=', 'in').where('code', '=', e.designation).executeTakeFirstOrThrow();
      await ctx.transaction(async (tx) => {
        await tx.db
          .insertInto('assignments')
          .values({ id: newId('asg'), user_id: employee.id, tenant_id: e.city, department_id: department.id, designation_id: designation.id, jurisdiction: JSON.stringify([e.city]), from_date: '2026-01-01', is_primary: true })
          .execute();
      });
    }
    credentials.push({ label: e.label, value: `${e.username} / ${password}` });
  }
  return credentials;
}
