import { randomBytes } from 'node:crypto';
import { defineOperation, KernelErrors, z, type Kysely, type OperationContext, type TxContext } from '../../kernel/index.js';
import { grantsOf, signAccessToken } from './access-tokens.js';
import { IdentityErrors, OAuthErrors, SecondFactorErrors } from './errors.js';
import { recordFailure } from './grants.js';
import { hashSecret, storeRefreshToken } from './refresh-tokens.js';
import { activeSigningKey } from './signing-keys.js';
import { ACCESS_TOKEN_SECONDS, SESSION_PERMISSION } from './token-settings.js';
import { base32Decode, matchTotp, newTotpSecret, otpauthUri, totpClock } from './totp.js';

/** How long the mfa_token of a password grant waits for the second factor. */
export const MFA_TOKEN_SECONDS = 5 * 60;
export const RECOVERY_CODE_COUNT = 10;

const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** `ABCDE-FGHJK`: 50 random bits, easy to type; stored only as SHA-256. */
function newRecoveryCode(): string {
  const chars = Array.from(randomBytes(10), (b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}
const normaliseRecoveryCode = (code: string) => code.replace(/[\s-]/g, '').toUpperCase();

/** The signed-in employee behind the actor; other actors (system clients included) have no second factor. */
async function signedInEmployee(ctx: OperationContext): Promise<{ id: string; tenantId: string; username: string }> {
  if (ctx.actor.kind !== 'user') throw KernelErrors.unauthenticated();
  const row = await ctx.db.selectFrom('users').select(['id', 'tenant_id', 'username']).where('id', '=', ctx.actor.id).where('kind', '=', 'employee').executeTakeFirst();
  if (!row) throw IdentityErrors.userNotFound();
  return { id: String(row.id), tenantId: String(row.tenant_id), username: String(row.username) };
}

async function factorOf(ctx: OperationContext, db: Kysely<any>, userId: string, tenantId: string, forUpdate = false) {
  let query = db.selectFrom('totp_factors').selectAll().where('user_id', '=', userId);
  if (forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) return undefined;
  const secret = base32Decode(await ctx.crypto.decrypt(tenantId, String(row.secret_enc)));
  return { status: String(row.status) as 'pending' | 'enabled', secret, lastStep: row.last_step === null ? null : Number(row.last_step) };
}

/** Accepts `code` once: records its step, so the same code (or an older one) is refused later. */
async function useCode(db: Kysely<any>, userId: string, secret: Uint8Array, code: string, lastStep: number | null): Promise<boolean> {
  const step = matchTotp(secret, code, totpClock.now(), lastStep);
  if (step === undefined) return false;
  const used = await db
    .updateTable('totp_factors')
    .set({ last_step: step })
    .where('user_id', '=', userId)
    .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
    .returning('user_id')
    .executeTakeFirst();
  return Boolean(used);
}

const codeInput = z.object({ code: z.string().regex(/^[0-9]{6}$/, 'six digits') });

export const secondFactorOperations = {
  enrolTotp: defineOperation({
    summary: 'Start TOTP enrolment: returns a new secret and its otpauth URI (confirm with a code to enable)',
    permission: SESSION_PERMISSION,
    http: { method: 'POST', path: '/mfa/totp/enrol', status: 200 },
    input: z.object({}),
    output: z.object({ secret: z.string(), uri: z.string() }),
    async handler(ctx) {
      const user = await signedInEmployee(ctx);
      const existing = await ctx.db.selectFrom('totp_factors').select('status').where('user_id', '=', user.id).executeTakeFirst();
      if (existing?.status === 'enabled') throw SecondFactorErrors.totpAlreadyEnabled();
      const secret = newTotpSecret();
      const sealed = await ctx.crypto.encrypt(user.tenantId, secret);
      await ctx.transaction(async (tx) => {
        await tx.db
          .insertInto('totp_factors')
          .values({ user_id: user.id, secret_enc: sealed, status: 'pending', last_step: null })
          .onConflict((oc) => oc.column('user_id').doUpdateSet({ secret_enc: sealed, status: 'pending', last_step: null, created_at: new Date(), enabled_at: null }))
          .execute();
        await tx.audit({ action: 'identity.mfa.totp.enrolled', entityType: 'user', entityId: user.id, tenantId: user.tenantId });
      });
      return { secret, uri: otpauthUri(user.username, secret) };
    },
  }),

  confirmTotp: defineOperation({
    summary: 'Enable TOTP with a current code; returns 10 one-time recovery codes, shown only this once',
    permission: SESSION_PERMISSION,
    http: { method: 'POST', path: '/mfa/totp/confirm', status: 200 },
    input: codeInput,
    output: z.object({ enabled: z.literal(true), recoveryCodes: z.array(z.string()) }),
    async handler(ctx, input) {
      const user = await signedInEmployee(ctx);
      const factor = await factorOf(ctx, ctx.db, user.id, user.tenantId);
      if (!factor) throw SecondFactorErrors.totpNotEnrolled();
      if (factor.status === 'enabled') throw SecondFactorErrors.totpAlreadyEnabled();
      const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
      const ok = await ctx.transaction(async (tx) => {
        if (!(await useCode(tx.db, user.id, factor.secret, input.code, factor.lastStep))) return false;
        await tx.db.updateTable('totp_factors').set({ status: 'enabled', enabled_at: new Date() }).where('user_id', '=', user.id).execute();
        await tx.db.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
        await tx.db.insertInto('recovery_codes').values(codes.map((c) => ({ code_hash: hashSecret(normaliseRecoveryCode(c)), user_id: user.id }))).execute();
        await tx.audit({ action: 'identity.mfa.totp.enabled', entityType: 'user', entityId: user.id, tenantId: user.tenantId });
        return true;
      });
      if (!ok) throw SecondFactorErrors.totpCodeInvalid();
      return { enabled: true as const, recoveryCodes: codes };
    },
  }),

  disableTotp: defineOperation({
    summary: 'Disable TOTP with a current code; the recovery codes go with it',
    permission: SESSION_PERMISSION,
    http: { method: 'POST', path: '/mfa/totp/disable', status: 200 },
    input: codeInput,
    output: z.object({ enabled: z.literal(false) }),
    async handler(ctx, input) {
      const user = await signedInEmployee(ctx);
      const factor = await factorOf(ctx, ctx.db, user.id, user.tenantId);
      if (!factor || factor.status !== 'enabled') throw SecondFactorErrors.totpNotEnabled();
      const ok = await ctx.transaction(async (tx) => {
        if (!(await useCode(tx.db, user.id, factor.secret, input.code, factor.lastStep))) return false;
        await tx.db.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
        await tx.db.deleteFrom('mfa_tokens').where('user_id', '=', user.id).execute();
        await tx.db.deleteFrom('totp_factors').where('user_id', '=', user.id).execute();
        await tx.audit({ action: 'identity.mfa.totp.disabled', entityType: 'user', entityId: user.id, tenantId: user.tenantId });
        return true;
      });
      if (!ok) throw SecondFactorErrors.totpCodeInvalid();
      return { enabled: false as const };
    },
  }),
};

/**
 * Called by the password grant once the password is right: when the user has TOTP enabled, no
 * tokens yet, but an mfa_token (single use, short-lived, stored as SHA-256) for the mfa_otp grant.
 */
export async function demandSecondFactor(ctx: OperationContext, userId: string, tenantId: string, scope: string | null): Promise<void> {
  const factor = await ctx.db.selectFrom('totp_factors').select('status').where('user_id', '=', userId).executeTakeFirst();
  if (factor?.status !== 'enabled') return;
  const token = randomBytes(32).toString('base64url');
  await ctx.transaction(async (tx) => {
    await tx.db.insertInto('mfa_tokens').values({ token_hash: hashSecret(token), user_id: userId, scope, expires_at: new Date(totpClock.now() + MFA_TOKEN_SECONDS * 1000) }).execute();
    await tx.audit({ action: 'identity.login.mfa_required', entityType: 'user', entityId: userId, tenantId });
  });
  throw SecondFactorErrors.mfaRequired(token);
}

export const mfaOtpGrantInput = z
  .object({
    grant_type: z.literal('mfa_otp'),
    mfa_token: z.string().min(1).max(200),
    otp: z.string().max(20).optional(),
    recovery_code: z.string().max(40).optional(),
  })
  .refine((v) => (v.otp === undefined) !== (v.recovery_code === undefined), { message: 'give either otp or recovery_code', path: ['otp'] });

type Outcome = { ok: true; tokens: Awaited<ReturnType<typeof issue>> } | { ok: false; userId?: string; tenantId?: string; detail: string };

/** The second half of a sign-in with TOTP: the mfa_token of the password grant and a code. */
export async function mfaOtpGrant(ctx: OperationContext, input: z.output<typeof mfaOtpGrantInput>) {
  const key = await activeSigningKey(ctx);
  const now = totpClock.now();
  const outcome: Outcome = await ctx.transaction(async (tx) => {
    const token = await tx.db.selectFrom('mfa_tokens').selectAll().where('token_hash', '=', hashSecret(input.mfa_token)).forUpdate().executeTakeFirst();
    if (!token || token.used_at || new Date(token.expires_at).getTime() <= now) return { ok: false, detail: 'The mfa_token is not valid, has expired or was used' };
    const user = await tx.db
      .selectFrom('users')
      .innerJoin('tenants', 'tenants.code', 'users.tenant_id')
      .select(['users.id as id', 'users.tenant_id as tenant_id', 'users.status as status', 'users.locked_until as locked_until', 'tenants.status as tenant_status'])
      .where('users.id', '=', token.user_id)
      .executeTakeFirstOrThrow();
    const userId = String(user.id);
    const tenantId = String(user.tenant_id);
    // The lock's end is set from the wall clock by recordFailure, so it is read against it too.
    const locked = user.status === 'locked' && user.locked_until && new Date(user.locked_until).getTime() > Date.now();
    if (user.status === 'disabled' || user.tenant_status === 'disabled' || locked) return { ok: false, detail: 'The account cannot sign in' };
    const factor = await factorOf(ctx, tx.db, userId, tenantId, true);
    if (factor?.status !== 'enabled') return { ok: false, detail: 'The mfa_token is not valid, has expired or was used' };
    if (input.otp !== undefined) {
      if (!(await useCode(tx.db, userId, factor.secret, input.otp, factor.lastStep))) return { ok: false, userId, tenantId, detail: 'The one-time code is wrong, expired or already used' };
    } else {
      const used = await tx.db
        .updateTable('recovery_codes')
        .set({ used_at: new Date(now) })
        .where('user_id', '=', userId)
        .where('code_hash', '=', hashSecret(normaliseRecoveryCode(input.recovery_code ?? '')))
        .where('used_at', 'is', null)
        .returning('code_hash')
        .executeTakeFirst();
      if (!used) return { ok: false, userId, tenantId, detail: 'The recovery code is wrong or already used' };
    }
    await tx.db.updateTable('mfa_tokens').set({ used_at: new Date(now) }).where('token_hash', '=', token.token_hash).execute();
    await tx.db.updateTable('users').set({ status: 'active', failed_logins: 0, locked_until: null }).where('id', '=', userId).where('status', '=', 'locked').execute();
    await tx.db.updateTable('users').set({ failed_logins: 0 }).where('id', '=', userId).where('failed_logins', '>', 0).execute();
    const scope = (token.scope as string | null) ?? null;
    await tx.audit({ action: 'identity.login.succeeded', entityType: 'user', entityId: userId, tenantId, data: { grant: 'mfa_otp', factor: input.otp !== undefined ? 'totp' : 'recovery_code' } });
    return { ok: true, tokens: await issue(ctx, tx, key, { id: userId, tenantId }, scope) };
  });
  if (outcome.ok) return outcome.tokens;
  // A wrong code counts toward the lockout like a wrong password (after the transaction, so it sticks).
  if (outcome.userId && outcome.tenantId) await recordFailure(ctx, outcome.userId, outcome.tenantId);
  throw OAuthErrors.invalidGrant(outcome.detail);
}

async function issue(ctx: OperationContext, tx: TxContext, key: Awaited<ReturnType<typeof activeSigningKey>>, user: { id: string; tenantId: string }, scope: string | null) {
  const grants = await grantsOf(ctx, user.id, scope);
  const refresh = await storeRefreshToken(tx, user.id, scope);
  const access = await signAccessToken(key, user, grants);
  return { access_token: access, refresh_token: refresh, token_type: 'Bearer' as const, expires_in: ACCESS_TOKEN_SECONDS, ...(scope ? { scope } : {}) };
}
