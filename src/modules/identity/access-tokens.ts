import { SignJWT } from 'jose';
import { accessTokenKid, can, isId, VerifiedTokenCache, verifyAccessToken, type Actor, type ModuleRuntime, type OperationContext } from '../../kernel/index.js';
import { rolesOf } from './employees.js';
import { SIGNING_ALG, verificationKey, type SigningKey } from './signing-keys.js';
import { ACCESS_TOKEN_SECONDS, AUDIENCE, ISSUER, SESSION_PERMISSION } from './token-settings.js';

export interface TokenUser {
  id: string;
  tenantId: string;
}

/** Roles and the union of their permissions, narrowed to `scope` (space-separated permissions) when asked. */
export async function grantsOf(ctx: OperationContext, userId: string, scope: string | null): Promise<{ roles: string[]; perms: string[] }> {
  const roles = await rolesOf(ctx, userId);
  let perms = [...new Set(roles.flatMap((r) => r.permissions))];
  if (scope) {
    const holder: Actor = { kind: 'user', id: userId, roles: [], permissions: perms };
    perms = [...new Set(scope.split(' ').filter((s) => s && can(holder, s)))];
  }
  if (!perms.includes(SESSION_PERMISSION)) perms.push(SESSION_PERMISSION);
  return { roles: [...new Set(roles.map((r) => r.role))], perms: perms.sort() };
}

export async function signAccessToken(key: SigningKey, user: TokenUser, grants: { roles: string[]; perms: string[] }): Promise<string> {
  return new SignJWT({ tid: user.tenantId, roles: grants.roles, perms: grants.perms })
    .setProtectedHeader({ alg: SIGNING_ALG, kid: key.kid, typ: 'JWT' })
    .setSubject(user.id)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ACCESS_TOKEN_SECONDS}s`)
    .sign(key.privateKey);
}

/** The kernel's bearer check: a token this module signed, still valid, becomes the user's actor. */
export async function authenticateAccessToken(token: string, runtime: ModuleRuntime): Promise<Actor | undefined> {
  let cache = verified.get(runtime);
  if (!cache) verified.set(runtime, (cache = new VerifiedTokenCache()));
  return cache.through(token, () => verifyWithOurKeys(token, runtime));
}

/** Tokens already verified in this runtime (per runtime: each test runtime has its own keys). */
const verified = new WeakMap<ModuleRuntime, VerifiedTokenCache>();

async function verifyWithOurKeys(token: string, runtime: ModuleRuntime): Promise<Actor | undefined> {
  // A kid not shaped like ours cannot be one of our keys: no database look-up for it.
  const kid = accessTokenKid(token);
  if (!isId(kid, 'key')) return undefined;
  const key = await verificationKey(runtime, kid);
  // Claims, issuer, audience and expiry are checked by the kernel, as in processes without identity.
  return key ? verifyAccessToken(token, key) : undefined;
}
