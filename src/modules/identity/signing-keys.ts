import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { ACCESS_TOKEN_ALG, newId, sql, systemActor, type ModuleRuntime, type OperationContext, type TxContext } from '../../kernel/index.js';
import { ACCESS_TOKEN_SECONDS, RETIRED_KEY_SKEW_SECONDS } from './token-settings.js';

export const SIGNING_ALG = ACCESS_TOKEN_ALG;
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

/** Serializes changes of the active key across processes; a unique partial index backs it up. */
const KEY_LOCK = 'identity.signing_keys';

/** Takes the key lock for the rest of `tx` and answers the active key as it stands under it. */
export async function lockActiveKey(tx: TxContext): Promise<{ kid: string; private_jwk_enc: string } | undefined> {
  await sql`select pg_advisory_xact_lock(hashtext(${KEY_LOCK}))`.execute(tx.db);
  const row = await tx.db.selectFrom('signing_keys').select(['kid', 'private_jwk_enc']).where('status', '=', 'active').executeTakeFirst();
  return row ? { kid: String(row.kid), private_jwk_enc: String(row.private_jwk_enc) } : undefined;
}

/** A new Ed25519 key pair, its private half sealed, ready to insert. */
export async function newSigningKey(ctx: OperationContext): Promise<{ kid: string; public_jwk: string; private_jwk_enc: string }> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { crv: 'Ed25519', extractable: true });
  const kid = newId('key');
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' };
  const sealed = await ctx.crypto.encrypt(KEY_OWNER, JSON.stringify(await exportJWK(privateKey)));
  return { kid, public_jwk: JSON.stringify(publicJwk), private_jwk_enc: sealed };
}

/** The first key: two first requests at once make one key, the later one uses the earlier's. */
async function createSigningKey(ctx: OperationContext): Promise<{ kid: string; private_jwk_enc: string }> {
  const key = await newSigningKey(ctx);
  return ctx.transaction(async (tx) => {
    const existing = await lockActiveKey(tx);
    if (existing) return existing;
    await tx.db.insertInto('signing_keys').values({ ...key, status: 'active' }).execute();
    await tx.audit({ action: 'identity.signing_key.created', entityType: 'signing_key', entityId: key.kid, tenantId: null, data: { alg: SIGNING_ALG } });
    keysChanged();
    return { kid: key.kid, private_jwk_enc: key.private_jwk_enc };
  });
}

/**
 * Public keys that may have signed a live token: the active one, and retired ones until every
 * token they signed has expired (retired_at + access-token lifetime + clock skew).
 */
export async function publicJwks(ctx: OperationContext): Promise<JWK[]> {
  const since = new Date(Date.now() - (ACCESS_TOKEN_SECONDS + RETIRED_KEY_SKEW_SECONDS) * 1000);
  const rows = await ctx.db
    .selectFrom('signing_keys')
    .select('public_jwk')
    .where((eb) => eb.or([eb('status', '=', 'active'), eb('retired_at', '>', since)]))
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map((r) => (typeof r.public_jwk === 'string' ? JSON.parse(r.public_jwk) : r.public_jwk) as JWK);
}

/** Verification keys per runtime (each has its own database), reloaded when an unknown kid shows up. */
const verifiers = new WeakMap<ModuleRuntime, { keys: Map<string, CryptoKey>; loadedAt: number; generation: number }>();
/** Bumped when this process makes or rotates a key: its own new kid never waits for the reload interval. */
let generation = 0;
export function keysChanged(): void {
  generation++;
}
/** Tokens with made-up kids must not each cost a database query: one reload per second at most. */
const RELOAD_INTERVAL_MS = 1000;

export async function verificationKey(runtime: ModuleRuntime, kid: string): Promise<CryptoKey | undefined> {
  const cached = verifiers.get(runtime);
  const hit = cached?.keys.get(kid);
  if (hit) return hit;
  // An empty cache is always reloaded: the first key may have been made a moment ago.
  if (cached && cached.keys.size > 0 && cached.generation === generation && Date.now() - cached.loadedAt < RELOAD_INTERVAL_MS) return undefined;
  const loading = generation;
  const ctx = runtime.context(systemActor('identity.jwks'), 'identity-jwks');
  const keys = new Map<string, CryptoKey>();
  for (const jwk of await publicJwks(ctx)) keys.set(String(jwk.kid), (await importJWK(jwk, SIGNING_ALG)) as CryptoKey);
  verifiers.set(runtime, { keys, loadedAt: Date.now(), generation: loading });
  return keys.get(kid);
}
