import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { newId, systemActor, type ModuleRuntime, type OperationContext } from '../../kernel/index.js';
import { ACCESS_TOKEN_SECONDS } from './token-settings.js';

export const SIGNING_ALG = 'EdDSA';
/** Private keys are sealed with the platform's own data key, not a tenant's. */
const KEY_OWNER = 'platform';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

const decrypted = new Map<string, CryptoKey>();

/** The active signing key; the first token ever issued creates it. */
export async function activeSigningKey(ctx: OperationContext): Promise<SigningKey> {
  let row = await ctx.db.selectFrom('signing_keys').select(['kid', 'private_jwk_enc']).where('status', '=', 'active').orderBy('created_at', 'desc').executeTakeFirst();
  if (!row) row = await createSigningKey(ctx);
  const kid = String(row.kid);
  let privateKey = decrypted.get(kid);
  if (!privateKey) {
    const jwk = JSON.parse(await ctx.crypto.decrypt(KEY_OWNER, String(row.private_jwk_enc))) as JWK;
    privateKey = (await importJWK(jwk, SIGNING_ALG)) as CryptoKey;
    decrypted.set(kid, privateKey);
  }
  return { kid, privateKey };
}

async function createSigningKey(ctx: OperationContext): Promise<{ kid: string; private_jwk_enc: string }> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { crv: 'Ed25519', extractable: true });
  const kid = newId('key');
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' };
  const sealed = await ctx.crypto.encrypt(KEY_OWNER, JSON.stringify(await exportJWK(privateKey)));
  await ctx.transaction(async (tx) => {
    await tx.db.insertInto('signing_keys').values({ kid, public_jwk: JSON.stringify(publicJwk), private_jwk_enc: sealed, status: 'active' }).execute();
    await tx.audit({ action: 'identity.signing_key.created', entityType: 'signing_key', entityId: kid, tenantId: null, data: { alg: SIGNING_ALG } });
  });
  return { kid, private_jwk_enc: sealed };
}

/** Public keys that may have signed a live token: active ones and those retired within a token's life. */
export async function publicJwks(ctx: OperationContext): Promise<JWK[]> {
  const since = new Date(Date.now() - ACCESS_TOKEN_SECONDS * 1000);
  const rows = await ctx.db
    .selectFrom('signing_keys')
    .select('public_jwk')
    .where((eb) => eb.or([eb('status', '=', 'active'), eb('retired_at', '>', since)]))
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map((r) => (typeof r.public_jwk === 'string' ? JSON.parse(r.public_jwk) : r.public_jwk) as JWK);
}

/** Verification keys per runtime (each has its own database), reloaded when an unknown kid shows up. */
const verifiers = new WeakMap<ModuleRuntime, { keys: Map<string, CryptoKey>; loadedAt: number }>();
/** Tokens with made-up kids must not each cost a database query: one reload per second at most. */
const RELOAD_INTERVAL_MS = 1000;

export async function verificationKey(runtime: ModuleRuntime, kid: string): Promise<CryptoKey | undefined> {
  const cached = verifiers.get(runtime);
  const hit = cached?.keys.get(kid);
  if (hit) return hit;
  // An empty cache is always reloaded: the first key may have been made a moment ago.
  if (cached && cached.keys.size > 0 && Date.now() - cached.loadedAt < RELOAD_INTERVAL_MS) return undefined;
  const ctx = runtime.context(systemActor('identity.jwks'), 'identity-jwks');
  const keys = new Map<string, CryptoKey>();
  for (const jwk of await publicJwks(ctx)) keys.set(String(jwk.kid), (await importJWK(jwk, SIGNING_ALG)) as CryptoKey);
  verifiers.set(runtime, { keys, loadedAt: Date.now() });
  return keys.get(kid);
}
