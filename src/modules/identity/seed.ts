import type { OperationContext, SeedResult, SevaConfig } from '../../kernel/index.js';
import { checkAdminPassword, ensureAdmin } from './bootstrap.js';
import { seedStaff } from './staff-seed.js';
import { createTenant, tenantExists } from './tenants.js';
import { seedDemoCitizen } from './citizens.js';

const DEMO_TENANTS = [
  { code: 'in', name: 'India' },
  { code: 'in.ka', name: 'Karnataka' },
  { code: 'in.ka.bengaluru', name: 'Bengaluru' },
  { code: 'in.ka.mysuru', name: 'Mysuru' },
];

/**
 * A state and two cities, the `admin` account (a fresh generated password on every run, unless
 * `SEVA_ADMIN_PASSWORD` sets it), staff and a citizen.
 */
export async function seedDemo(ctx: OperationContext, config: SevaConfig): Promise<SeedResult> {
  if (config.adminPassword) checkAdminPassword(config.adminPassword);
  for (const tenant of DEMO_TENANTS) {
    if (!(await tenantExists(ctx, tenant.code))) await createTenant(ctx, tenant);
  }
  const admin = await ensureAdmin(ctx, 'in', config.adminPassword, true);
  const staff = await seedStaff(ctx);
  const citizen = await seedDemoCitizen(ctx);
  return { credentials: [admin, ...staff, citizen] };
}
