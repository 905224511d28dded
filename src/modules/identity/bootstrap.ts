import { sql, SevaBootError, type OperationContext, type SeedResult, type SevaConfig } from '../../kernel/index.js';
import { createEmployee } from './employees.js';
import { hashPassword, passwordProblem, randomPassword } from './passwords.js';
import { createRole } from './roles.js';
import { createTenant, tenantExists } from './tenants.js';

export const ADMIN_USERNAME = 'admin';
export const ADMIN_ROLE = 'ADMIN';
/** The root administrator's role: every module's permissions, granted by module prefix. */
export const ADMIN_PERMISSIONS = ['identity.*', 'system.*', 'reference.*', 'files.*', 'notify.*', 'registry.*', 'workflow.*', 'credentials.*', 'billing.*'];

/**
 * On an empty database (no user at all), the root tenant, its ADMIN role and the `admin` account,
 * whose password is `SEVA_ADMIN_PASSWORD` or a generated one returned to be printed once. Racing
 * starts of several processes are serialised by an advisory lock; later starts do nothing.
 */
export async function bootstrap(ctx: OperationContext, config: SevaConfig): Promise<SeedResult> {
  if (config.adminPassword) checkAdminPassword(config.adminPassword);
  return ctx.transaction(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtext('identity.bootstrap'))`.execute(tx.db);
    if (await tx.db.selectFrom('users').select('id').limit(1).executeTakeFirst()) return {};
    const root = config.rootTenant;
    if (!(await tenantExists(ctx, root))) await createTenant(ctx, { code: root, name: config.rootTenantName ?? root });
    return { credentials: [await ensureAdmin(ctx, root, config.adminPassword, false)] };
  });
}

/**
 * The ADMIN role and `admin` account of `root`. A new account gets `password` or a generated one;
 * an existing one gets a new generated password only when `reissue` is set and none is configured.
 */
export async function ensureAdmin(ctx: OperationContext, root: string, password: string | undefined, reissue: boolean): Promise<{ label: string; value: string }> {
  const label = `administrator (tenant ${root})`;
  const configured = `${ADMIN_USERNAME} / the password in SEVA_ADMIN_PASSWORD`;
  const role = await ctx.db.selectFrom('roles').select('id').where('tenant_id', '=', root).where('code', '=', ADMIN_ROLE).executeTakeFirst();
  if (!role) await createRole(ctx, { tenantId: root, code: ADMIN_ROLE, name: 'Administrator', permissions: ADMIN_PERMISSIONS });
  const existing = await ctx.db.selectFrom('users').select('id').where('root_tenant', '=', root).where('username', '=', ADMIN_USERNAME).executeTakeFirst();
  if (!existing) {
    const chosen = password ?? randomPassword(16);
    await createEmployee(ctx, { tenantId: root, username: ADMIN_USERNAME, name: 'Administrator', password: chosen, roles: [{ role: ADMIN_ROLE, tenant: root }] });
    return { label, value: password ? configured : `${ADMIN_USERNAME} / ${chosen}` };
  }
  if (password || !reissue) return { label, value: password ? configured : `${ADMIN_USERNAME} / (unchanged)` };
  const fresh = randomPassword(16);
  const passwordHash = await hashPassword(fresh);
  await ctx.transaction(async (tx) => {
    await tx.db.updateTable('users').set({ password_hash: passwordHash, status: 'active', failed_logins: 0, locked_until: null, updated_at: new Date() }).where('id', '=', existing.id).execute();
    await tx.audit({ action: 'identity.user.password_reset', entityType: 'user', entityId: String(existing.id), tenantId: root, data: { by: 'seed' } });
  });
  return { label, value: `${ADMIN_USERNAME} / ${fresh}` };
}

export function checkAdminPassword(password: string): void {
  const weakness = passwordProblem(password, ADMIN_USERNAME);
  if (weakness) throw new SevaBootError(`SEVA_ADMIN_PASSWORD does not meet the password policy: ${weakness}`);
}
