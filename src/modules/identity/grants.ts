import { defineOperation, KernelErrors, z, type OperationContext } from '../../kernel/index.js';
import { grantsOf, signAccessToken } from './access-tokens.js';
import { OAuthErrors } from './errors.js';
import { demandSecondFactor } from './second-factor.js';
import { verifyAgainstDummy, verifyPassword } from './passwords.js';
import { hashRefreshToken, revokeFamily, storeRefreshToken } from './refresh-tokens.js';
import { activeSigningKey } from './signing-keys.js';
import { rootOf, TENANT_CODE } from './tenants.js';
import { ACCESS_TOKEN_SECONDS, LOCK_SECONDS, MAX_FAILED_LOGINS, SESSION_PERMISSION } from './token-settings.js';

export const tokenResponse = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  scope: z.string().optional(),
});
type TokenResponse = z.input<typeof tokenResponse>;

export const passwordGrantInput = z.object({
  grant_type: z.literal('password'),
  username: z.string().min(1).max(100),
  password: z.string().min(1).max(200),
  tenant: z.string().regex(TENANT_CODE, 'a tenant code such as in'),
  scope: z.string().max(2000).optional(),
});

export const refreshGrantInput = z.object({
  grant_type: z.literal('refresh_token'),
  refresh_token: z.string().min(1).max(200),
});

/**
 * Resource owner password grant. Unknown user, wrong password, locked or disabled account all get
 * the same answer after the same argon2 work, so the answer does not reveal which it was.
 */
export async function passwordGrant(ctx: OperationContext, input: z.output<typeof passwordGrantInput>): Promise<TokenResponse> {
  const key = await activeSigningKey(ctx);
  const user = await ctx.db
    .selectFrom('users')
    .innerJoin('tenants', 'tenants.code', 'users.tenant_id')
    .select(['users.id as id', 'users.tenant_id as tenant_id', 'users.password_hash as password_hash', 'users.status as status', 'users.locked_until as locked_until', 'tenants.status as tenant_status'])
    .where('users.root_tenant', '=', rootOf(input.tenant))
    .where('users.username', '=', input.username)
    .executeTakeFirst();
  if (!user) {
    await verifyAgainstDummy(input.password);
    throw OAuthErrors.invalidGrant();
  }
  const now = Date.now();
  const stillLocked = user.status === 'locked' && user.locked_until && new Date(user.locked_until).getTime() > now;
  const matches = await verifyPassword(String(user.password_hash), input.password);
  // A disabled tenant signs nobody in; like a locked account, this is not told apart.
  if (user.status === 'disabled' || user.tenant_status === 'disabled' || stillLocked) throw OAuthErrors.invalidGrant();
  if (!matches) {
    await recordFailure(ctx, String(user.id), String(user.tenant_id));
    throw OAuthErrors.invalidGrant();
  }
  const scope = input.scope?.trim() || null;
  // With TOTP enabled, the password alone gives an mfa_token (thrown as mfa_required), not tokens.
  await demandSecondFactor(ctx, String(user.id), String(user.tenant_id), scope);
  return ctx.transaction(async (tx) => {
    await tx.db.updateTable('users').set({ status: 'active', failed_logins: 0, locked_until: null }).where('id', '=', user.id).where('status', '=', 'locked').execute();
    await tx.db.updateTable('users').set({ failed_logins: 0 }).where('id', '=', user.id).where('failed_logins', '>', 0).execute();
    const grants = await grantsOf(ctx, String(user.id), scope);
    const refresh = await storeRefreshToken(tx, String(user.id), scope);
    await tx.audit({ action: 'identity.login.succeeded', entityType: 'user', entityId: String(user.id), tenantId: String(user.tenant_id), data: { grant: 'password' } });
    const access = await signAccessToken(key, { id: String(user.id), tenantId: String(user.tenant_id) }, grants);
    return answer(access, refresh, scope);
  });
}

/** Counts a wrong password; the fifth in a row locks the account for LOCK_SECONDS. */
async function recordFailure(ctx: OperationContext, userId: string, tenantId: string): Promise<void> {
  await ctx.transaction(async (tx) => {
    const row = await tx.db
      .updateTable('users')
      .set((eb) => ({ failed_logins: eb('failed_logins', '+', 1) }))
      .where('id', '=', userId)
      .returning('failed_logins')
      .executeTakeFirstOrThrow();
    await tx.audit({ action: 'identity.login.failed', entityType: 'user', entityId: userId, tenantId, data: { failures: Number(row.failed_logins) } });
    if (Number(row.failed_logins) >= MAX_FAILED_LOGINS) {
      const until = new Date(Date.now() + LOCK_SECONDS * 1000);
      await tx.db.updateTable('users').set({ status: 'locked', locked_until: until, failed_logins: 0, updated_at: new Date() }).where('id', '=', userId).execute();
      await tx.audit({ action: 'identity.user.locked', entityType: 'user', entityId: userId, tenantId, data: { until: until.toISOString() } });
      await tx.emit({ name: 'identity.user.locked', tenantId, payload: { userId, until: until.toISOString() } });
    }
  });
}

/**
 * Rotating refresh: each token works once and is replaced by a new one of the same family. A
 * token used twice means it leaked, so the whole family is revoked.
 */
export async function refreshGrant(ctx: OperationContext, input: z.output<typeof refreshGrantInput>): Promise<TokenResponse> {
  const key = await activeSigningKey(ctx);
  const outcome = await ctx.transaction(async (tx) => {
    const row = await tx.db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', hashRefreshToken(input.refresh_token)).forUpdate().executeTakeFirst();
    if (!row) return undefined;
    if (row.status !== 'active') {
      if (row.status === 'used') {
        await revokeFamily(tx, String(row.family_id));
        await tx.audit({ action: 'identity.refresh_token.reused', entityType: 'user', entityId: String(row.user_id), tenantId: null, data: { family: row.family_id } });
      }
      return undefined;
    }
    if (new Date(row.expires_at).getTime() <= Date.now()) return undefined;
    const user = await tx.db
      .selectFrom('users')
      .innerJoin('tenants', 'tenants.code', 'users.tenant_id')
      .select(['users.id as id', 'users.tenant_id as tenant_id', 'users.status as status', 'tenants.status as tenant_status'])
      .where('users.id', '=', row.user_id)
      .executeTakeFirstOrThrow();
    if (user.status !== 'active' || user.tenant_status !== 'active') return undefined;
    await tx.db.updateTable('refresh_tokens').set({ status: 'used' }).where('token_hash', '=', row.token_hash).execute();
    const scope = (row.scope as string | null) ?? null;
    const grants = await grantsOf(ctx, String(user.id), scope);
    const refresh = await storeRefreshToken(tx, String(user.id), scope, String(row.family_id));
    const access = await signAccessToken(key, { id: String(user.id), tenantId: String(user.tenant_id) }, grants);
    return answer(access, refresh, scope);
  });
  // Thrown after the transaction, so a detected reuse still commits the family's revocation.
  if (!outcome) throw OAuthErrors.invalidGrant();
  return outcome;
}

function answer(access: string, refresh: string, scope: string | null): TokenResponse {
  return { access_token: access, refresh_token: refresh, token_type: 'Bearer', expires_in: ACCESS_TOKEN_SECONDS, ...(scope ? { scope } : {}) };
}

export const sessionOperations = {
  logout: defineOperation({
    summary: 'End a session: revokes every refresh token of the given token’s family',
    permission: SESSION_PERMISSION,
    http: { method: 'POST', path: '/logout', status: 200 },
    input: z.object({ refresh_token: z.string().min(1).max(200) }),
    output: z.object({ revoked: z.boolean() }),
    async handler(ctx, input) {
      if (ctx.actor.kind !== 'user' && ctx.actor.kind !== 'system') throw KernelErrors.unauthenticated();
      return ctx.transaction(async (tx) => {
        const row = await tx.db.selectFrom('refresh_tokens').select(['family_id', 'user_id']).where('token_hash', '=', hashRefreshToken(input.refresh_token)).executeTakeFirst();
        // Only one's own sessions; someone else's token is answered like an unknown one.
        if (!row || (ctx.actor.kind === 'user' && row.user_id !== ctx.actor.id)) return { revoked: false };
        await revokeFamily(tx, String(row.family_id));
        await tx.audit({ action: 'identity.logout', entityType: 'user', entityId: String(row.user_id), data: { family: row.family_id } });
        return { revoked: true };
      });
    },
  }),
};

export { recordFailure };
