import { defineOperation, KernelErrors, localeTag, newId, z, type OperationContext } from '../../kernel/index.js';
import { IdentityErrors } from './errors.js';
import { CITIZEN_ROLE } from './otp.js';
import { maskEmail, maskMobile } from './pii.js';
import { createRole } from './roles.js';
import { rootOf } from './tenants.js';
import { SESSION_PERMISSION } from './token-settings.js';

/** A BCP 47 language tag (`hi-IN`, `kn`, `en-IN`), stored in its canonical form. */
export const locale = localeTag;

const profileOut = z.object({
  id: z.string(),
  kind: z.enum(['employee', 'citizen']),
  tenantId: z.string(),
  username: z.string().nullable(),
  name: z.string().nullable(),
  mobile: z.string().nullable(),
  email: z.string().nullable(),
  locale: z.string().nullable(),
  roles: z.array(z.string()),
});
type ProfileOut = z.input<typeof profileOut>;

function signedInUser(ctx: OperationContext): string {
  if (ctx.actor.kind !== 'user') throw KernelErrors.unauthenticated('This needs a signed-in user');
  return ctx.actor.id;
}

/** The caller's own profile; mobile and email are masked even for their owner. */
async function readProfile(ctx: OperationContext, id: string): Promise<ProfileOut> {
  const row = await ctx.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw IdentityErrors.userNotFound();
  const mobile = row.mobile_enc ? maskMobile(await ctx.crypto.decrypt(row.tenant_id, row.mobile_enc)) : null;
  const email = row.email_enc ? maskEmail(await ctx.crypto.decrypt(row.tenant_id, row.email_enc)) : null;
  return {
    id: row.id,
    kind: row.kind,
    tenantId: row.tenant_id,
    username: row.username ?? null,
    name: row.name ? String(row.name) : null,
    mobile,
    email,
    locale: row.locale ?? null,
    roles: ctx.actor.roles,
  };
}

export const citizenOperations = {
  me: defineOperation({
    summary: 'The signed-in user’s own profile (citizen or employee), with masked mobile and e-mail',
    permission: SESSION_PERMISSION,
    http: { method: 'GET', path: '/me' },
    input: z.object({}),
    output: profileOut,
    handler: (ctx) => readProfile(ctx, signedInUser(ctx)),
  }),

  updateMe: defineOperation({
    summary: 'Change one’s own name or locale',
    permission: SESSION_PERMISSION,
    http: { method: 'PATCH', path: '/me' },
    input: z.object({ name: z.string().trim().min(1).max(200).optional(), locale: locale.optional() }),
    output: profileOut,
    async handler(ctx, input) {
      const id = signedInUser(ctx);
      const changes: Record<string, unknown> = {};
      if (input.name !== undefined) changes.name = input.name;
      if (input.locale !== undefined) changes.locale = input.locale;
      if (Object.keys(changes).length > 0) {
        await ctx.transaction(async (tx) => {
          const row = await tx.db.updateTable('users').set({ ...changes, updated_at: new Date() }).where('id', '=', id).returning('tenant_id').executeTakeFirst();
          if (!row) throw IdentityErrors.userNotFound();
          await tx.audit({ action: 'identity.user.updated', entityType: 'user', entityId: id, tenantId: String(row.tenant_id), data: { changed: Object.keys(changes), by: 'self' } });
        });
      }
      return readProfile(ctx, id);
    },
  }),
};

/**
 * A citizen uploads, reads and deletes their own documents, reads their in-app messages, sets
 * their notification preferences and reads registry records they own (other modules' permissions).
 */
const CITIZEN_PERMISSIONS = [
  'files.file.upload',
  'files.file.read',
  'files.file.delete',
  'notify.inbox.use',
  'notify.preference.manage',
  'registry.record.own.read',
  'credentials.own.read',
];

const DEMO_CITIZEN = { tenant: 'in.ka.bengaluru', mobile: '9999900001', name: 'Demo Citizen' };

/** Demo data: the CITIZEN role of tenant `in` and a citizen of Bengaluru who signs in by OTP. */
export async function seedDemoCitizen(ctx: OperationContext): Promise<{ label: string; value: string }> {
  const root = rootOf(DEMO_CITIZEN.tenant);
  let role = await ctx.db.selectFrom('roles').select('id').where('tenant_id', '=', root).where('code', '=', CITIZEN_ROLE).executeTakeFirst();
  if (!role) role = await createRole(ctx, { tenantId: root, code: CITIZEN_ROLE, name: 'Citizen', permissions: [SESSION_PERMISSION, ...CITIZEN_PERMISSIONS] });
  const bidx = ctx.crypto.blindIndex(root, 'mobile', DEMO_CITIZEN.mobile);
  const existing = await ctx.db.selectFrom('users').select('id').where('root_tenant', '=', root).where('kind', '=', 'citizen').where('mobile_bidx', '=', bidx).executeTakeFirst();
  if (!existing) {
    const sealed = await ctx.crypto.encrypt(DEMO_CITIZEN.tenant, DEMO_CITIZEN.mobile);
    const id = newId('usr');
    await ctx.transaction(async (tx) => {
      await tx.db.insertInto('users').values({ id, kind: 'citizen', tenant_id: DEMO_CITIZEN.tenant, root_tenant: root, name: DEMO_CITIZEN.name, locale: 'en-IN', mobile_enc: sealed, mobile_bidx: bidx }).execute();
      await tx.db.insertInto('user_roles').values({ user_id: id, role_id: role.id, tenant_id: root }).execute();
      await tx.audit({ action: 'identity.user.created', entityType: 'user', entityId: id, tenantId: DEMO_CITIZEN.tenant, data: { kind: 'citizen', by: 'seed' } });
      await tx.emit({ name: 'identity.user.created', tenantId: DEMO_CITIZEN.tenant, payload: { userId: id, kind: 'citizen' } });
    });
  }
  return { label: `citizen (${DEMO_CITIZEN.tenant})`, value: `mobile ${DEMO_CITIZEN.mobile}, OTP from GET /api/identity/v1/dev-outbox` };
}
