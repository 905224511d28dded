import type { OperationContext } from '../../kernel/index.js';
import { createEmployee } from './employees.js';
import { hashPassword, randomPassword } from './passwords.js';
import { createRole } from './roles.js';
import { seedStaff } from './staff-seed.js';
import { createTenant, tenantExists } from './tenants.js';
import { seedDemoCitizen } from './citizens.js';

const DEMO_TENANTS = [
  { code: 'in', name: 'India' },
  { code: 'in.ka', name: 'Karnataka' },
  { code: 'in.ka.bengaluru', name: 'Bengaluru' },
];

/** Demo tenants, an ADMIN role and an `admin` employee with a fresh random password. */
export async function seedDemo(ctx: OperationContext): Promise<{ credentials: Array<{ label: string; value: string }> }> {
  for (const tenant of DEMO_TENANTS) {
    if (!(await tenantExists(ctx, tenant.code))) await createTenant(ctx, tenant);
  }
  const role = await ctx.db.selectFrom('roles').select('id').where('tenant_id', '=', 'in').where('code', '=', 'ADMIN').executeTakeFirst();
  if (!role) await createRole(ctx, { tenantId: 'in', code: 'ADMIN', name: 'Administrator', permissions: ['identity.*', 'system.*', 'files.*'] });
  const password = randomPassword(16);
  const existing = await ctx.db.selectFrom('users').select('id').where('root_tenant', '=', 'in').where('username', '=', 'admin').executeTakeFirst();
  if (existing) {
    // Seeding again gives the existing admin a new password, so the printed one always works.
    const passwordHash = await hashPassword(password);
    await ctx.transaction(async (tx) => {
      await tx.db.updateTable('users').set({ password_hash: passwordHash, status: 'active', failed_logins: 0, locked_until: null, updated_at: new Date() }).where('id', '=', existing.id).execute();
      await tx.audit({ action: 'identity.user.password_reset', entityType: 'user', entityId: String(existing.id), tenantId: 'in', data: { by: 'seed' } });
    });
  } else {
    await createEmployee(ctx, { tenantId: 'in', username: 'admin', name: 'Administrator', password, roles: [{ role: 'ADMIN', tenant: 'in' }] });
  }
  const staff = await seedStaff(ctx);
  const citizen = await seedDemoCitizen(ctx);
  return { credentials: [{ label: 'administrator (tenant in)', value: `admin / ${password}` }, ...staff, citizen] };
}
