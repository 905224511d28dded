import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { KernelErrors, newId, z, zodProblems, type OperationContext } from '../../kernel/index.js';
import { grantsOf, signAccessToken } from './access-tokens.js';
import { sealMessage, writeDevOutbox, type Channel } from './dev-outbox.js';
import { IdentityErrors, OAuthErrors } from './errors.js';
import { normaliseEmail } from './pii.js';
import type { Clock } from './rate-limits.js';
import { storeRefreshToken } from './refresh-tokens.js';
import { activeSigningKey } from './signing-keys.js';
import { rootOf, tenantCode } from './tenants.js';
import { ACCESS_TOKEN_SECONDS } from './token-settings.js';

export const OTP_PATH = '/api/identity/v1/otp';
export const OTP_GRANT_URN = 'urn:seva:params:oauth:grant-type:otp';
export const OTP_SECONDS = 5 * 60;
export const MAX_OTP_ATTEMPTS = 5;
export const CITIZEN_ROLE = 'CITIZEN';
const MOBILE = /^[6-9][0-9]{9}$/;

const identifier = {
  mobile: z.string().regex(MOBILE, 'a 10-digit Indian mobile number').optional(),
  email: z.email('a valid e-mail address').max(254).optional(),
};
const exactlyOne = (v: { mobile?: string | undefined; email?: string | undefined }) => (v.mobile === undefined) !== (v.email === undefined);
const oneOf = { message: 'give exactly one of mobile and email', path: ['mobile'] };

export const otpRequestInput = z.object({ tenant: tenantCode, ...identifier }).refine(exactlyOne, oneOf);

export const otpGrantInput = z
  .object({
    grant_type: z.enum(['otp', OTP_GRANT_URN]),
    tenant: tenantCode,
    ...identifier,
    otp: z.string().regex(/^[0-9]{6}$/, 'the 6-digit code'),
    scope: z.string().max(2000).optional(),
  })
  .refine(exactlyOne, oneOf);

interface Identifier {
  channel: Channel;
  field: 'mobile' | 'email';
  value: string;
}

export function identifierOf(input: { mobile?: string | undefined; email?: string | undefined }): Identifier {
  return input.mobile !== undefined ? { channel: 'sms', field: 'mobile', value: input.mobile } : { channel: 'email', field: 'email', value: normaliseEmail(input.email!) };
}

/** Citizens' blind indexes are keyed by the tenant root: one account per person per root. */
export function citizenIndex(ctx: OperationContext, tenant: string, id: Identifier): string {
  return ctx.crypto.blindIndex(rootOf(tenant), id.field, id.value);
}

/** A keyed digest (HMAC under a key derived from the master key) of the code with its row's salt. */
function codeDigest(ctx: OperationContext, root: string, bidx: string, salt: string, code: string): string {
  return ctx.crypto.blindIndex(root, 'otp', `${salt}:${bidx}:${code}`);
}

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw KernelErrors.validation(zodProblems(parsed.error.issues, 'body'));
  return parsed.data;
}

/**
 * Sends a fresh 6-digit code to the mobile or e-mail (the dev outbox, and notify when it runs), replacing any
 * earlier one. The answer is the same whether an account exists or not.
 */
export async function sendOtp(ctx: OperationContext, input: z.output<typeof otpRequestInput>, clock: Clock): Promise<{ sent: true; expiresIn: number }> {
  const tenant = await ctx.db.selectFrom('tenants').select(['code', 'status']).where('code', '=', input.tenant).executeTakeFirst();
  if (!tenant) throw IdentityErrors.tenantNotFound('body.tenant');
  const answer = { sent: true as const, expiresIn: OTP_SECONDS };
  // A disabled tenant signs nobody in; it is answered like the others, and nothing is sent.
  if (tenant.status !== 'active') return answer;
  const id = identifierOf(input);
  const root = rootOf(input.tenant);
  const bidx = citizenIndex(ctx, input.tenant, id);
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const salt = randomBytes(16).toString('hex');
  const message = await sealMessage(ctx, input.tenant, id.channel, id.value, `Your Seva sign-in code is ${code}. It expires in ${OTP_SECONDS / 60} minutes. Never share it.`);
  const row = {
    root_tenant: root,
    identifier_bidx: bidx,
    channel: id.channel,
    tenant_id: input.tenant,
    code_hash: codeDigest(ctx, root, bidx, salt, code),
    salt,
    status: 'active',
    attempts: 0,
    expires_at: new Date(clock() + OTP_SECONDS * 1000),
    created_at: new Date(clock()),
  };
  await ctx.transaction(async (tx) => {
    await tx.db
      .insertInto('otp_codes')
      .values(row)
      .onConflict((oc) => oc.columns(['root_tenant', 'identifier_bidx']).doUpdateSet({ ...row }))
      .execute();
    await writeDevOutbox(tx, message);
    await tx.audit({ action: 'identity.otp.sent', entityType: 'message', entityId: message.id, tenantId: input.tenant, data: { channel: id.channel } });
    // Only the id travels in the event: the code and the recipient stay sealed in the outbox row.
    await tx.emit({ name: 'identity.otp.requested', tenantId: input.tenant, payload: { messageId: message.id, channel: id.channel } });
  });
  return answer;
}

type TokenResponse = { access_token: string; refresh_token: string; token_type: 'Bearer'; expires_in: number; scope?: string };

/**
 * The OTP grant: a right code signs the citizen in, registering them on their first sign-in.
 * Each way a code can fail has its own description (none tells whether an account exists).
 */
export async function otpGrant(ctx: OperationContext, input: z.output<typeof otpGrantInput>, clock: Clock): Promise<TokenResponse> {
  const key = await activeSigningKey(ctx);
  const tenant = await ctx.db.selectFrom('tenants').select(['code', 'status']).where('code', '=', input.tenant).executeTakeFirst();
  if (!tenant || tenant.status !== 'active') throw OAuthErrors.invalidGrant('The one-time code is not valid');
  const id = identifierOf(input);
  const root = rootOf(input.tenant);
  const bidx = citizenIndex(ctx, input.tenant, id);
  // Sealed before the transaction: the key ring may create the tenant's data key.
  const sealed = await ctx.crypto.encrypt(input.tenant, id.value);
  const scope = input.scope?.trim() || null;
  const outcome = await ctx.transaction(async (tx): Promise<TokenResponse | string> => {
    const code = await tx.db.selectFrom('otp_codes').selectAll().where('root_tenant', '=', root).where('identifier_bidx', '=', bidx).forUpdate().executeTakeFirst();
    if (!code) return 'No code was requested for this mobile number or e-mail; request one first';
    if (code.status === 'used') return 'This code was already used; request a new one';
    if (code.status === 'burnt') return 'Too many wrong codes were tried; request a new one';
    if (new Date(code.expires_at).getTime() <= clock()) return 'The code has expired; request a new one';
    const given = Buffer.from(codeDigest(ctx, root, bidx, String(code.salt), input.otp));
    const stored = Buffer.from(String(code.code_hash));
    if (given.length !== stored.length || !timingSafeEqual(given, stored)) {
      const attempts = Number(code.attempts) + 1;
      const burnt = attempts >= MAX_OTP_ATTEMPTS;
      await tx.db.updateTable('otp_codes').set({ attempts, status: burnt ? 'burnt' : 'active' }).where('root_tenant', '=', root).where('identifier_bidx', '=', bidx).execute();
      await tx.audit({ action: 'identity.otp.failed', entityType: 'otp', entityId: bidx, tenantId: input.tenant, data: { attempts, burnt } });
      return burnt ? 'The code is not correct, and that was the last try; request a new one' : 'The code is not correct';
    }
    await tx.db.updateTable('otp_codes').set({ status: 'used' }).where('root_tenant', '=', root).where('identifier_bidx', '=', bidx).execute();
    const column = id.field === 'mobile' ? 'mobile_bidx' : 'email_bidx';
    let user = await tx.db
      .selectFrom('users')
      .select(['id', 'tenant_id', 'status'])
      .where('root_tenant', '=', root)
      .where('kind', '=', 'citizen')
      .where(column, '=', bidx)
      .executeTakeFirst();
    if (!user) {
      // First sign-in: the citizen registers. The lock on the code row keeps this to one account.
      const userId = newId('usr');
      const sealedColumns = id.field === 'mobile' ? { mobile_enc: sealed, mobile_bidx: bidx } : { email_enc: sealed, email_bidx: bidx };
      await tx.db.insertInto('users').values({ id: userId, kind: 'citizen', tenant_id: input.tenant, root_tenant: root, username: null, name: '', password_hash: null, ...sealedColumns }).execute();
      const role = await tx.db.selectFrom('roles').select('id').where('tenant_id', '=', root).where('code', '=', CITIZEN_ROLE).executeTakeFirst();
      if (role) await tx.db.insertInto('user_roles').values({ user_id: userId, role_id: role.id, tenant_id: root }).execute();
      await tx.audit({ action: 'identity.user.created', entityType: 'user', entityId: userId, tenantId: input.tenant, data: { kind: 'citizen', roles: role ? [{ role: CITIZEN_ROLE, tenant: root }] : [] } });
      await tx.emit({ name: 'identity.user.created', tenantId: input.tenant, payload: { userId, kind: 'citizen' } });
      user = { id: userId, tenant_id: input.tenant, status: 'active' };
    }
    if (user.status !== 'active') return 'The one-time code is not valid';
    const userId = String(user.id);
    const grants = await grantsOf(ctx, userId, scope);
    const refresh = await storeRefreshToken(tx, userId, scope);
    await tx.audit({ action: 'identity.login.succeeded', entityType: 'user', entityId: userId, tenantId: String(user.tenant_id), data: { grant: 'otp' } });
    const access = await signAccessToken(key, { id: userId, tenantId: String(user.tenant_id) }, grants);
    return { access_token: access, refresh_token: refresh, token_type: 'Bearer', expires_in: ACCESS_TOKEN_SECONDS, ...(scope ? { scope } : {}) };
  });
  // Thrown after the transaction, so a wrong code's count (and a burnt code) is kept.
  if (typeof outcome === 'string') throw OAuthErrors.invalidGrant(outcome);
  return outcome;
}
