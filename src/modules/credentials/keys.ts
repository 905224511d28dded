import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { newId, sql, type OperationContext, type SevaConfig, type TxContext } from '../../kernel/index.js';
import { base64urlDecode, ed25519Multikey } from './codecs.js';
import { ed25519PrivateKey } from './data-integrity.js';
import { CredentialErrors } from './errors.js';
import { insideTransaction, type CredentialsState } from './state.js';
import type { TrustedKey, TrustList } from './verify.js';

/**
 * Issuer keys: one active Ed25519 key per tenant signs new credentials; a rotated key no longer
 * signs but stays in the DID document and the trust list, so what it signed still verifies; a
 * retired key is withdrawn from both (end of life or compromise): what it signed stops verifying.
 * Private keys are PKCS #8, sealed under the tenant's data key (`ctx.crypto.encrypt`).
 */

/** The deployment's public base URL: `SEVA_PUBLIC_URL`, else this process on localhost. */
export function publicBase(config: Readonly<SevaConfig>): string {
  return (config.publicUrl ?? `http://localhost:${config.port}`).replace(/\/+$/, '');
}

export const ISSUER_PATH = '/api/credentials/v1/issuers';

/**
 * A tenant's issuer as `did:web`: the DID document lives at `<base>/api/credentials/v1/issuers/<tenant>/did.json`,
 * which is where did:web resolves `did:web:<host>:api:credentials:v1:issuers:<tenant>` (a port is `%3A`).
 */
export function issuerDid(config: Readonly<SevaConfig>, tenantId: string): string {
  let known = dids.get(config);
  if (!known) dids.set(config, (known = new Map()));
  let did = known.get(tenantId);
  if (did === undefined) {
    const url = new URL(`${publicBase(config)}${ISSUER_PATH}/${tenantId}`);
    const segments = url.pathname.split('/').filter(Boolean).map(encodeURIComponent);
    did = ['did:web', encodeURIComponent(url.host), ...segments].join(':');
    if (known.size >= 10_000) known.clear();
    known.set(tenantId, did);
  }
  return did;
}

/** Issuer DIDs per configuration and tenant: every credential names one, and parsing a URL costs more than signing's bookkeeping. */
const dids = new WeakMap<Readonly<SevaConfig>, Map<string, string>>();

export function tenantOfIssuer(config: Readonly<SevaConfig>, did: string): string | undefined {
  const prefix = issuerDid(config, 'TENANT').replace(/TENANT$/, '');
  if (!did.startsWith(prefix)) return undefined;
  const tenant = did.slice(prefix.length);
  return /^[a-z0-9][a-z0-9._-]*$/i.test(tenant) ? tenant : undefined;
}

interface KeyRow {
  kid: string;
  tenant_id: string;
  public_multibase: string;
  private_key_enc: string;
  status: 'active' | 'rotated' | 'retired';
  created_at: Date | string;
  rotated_at: Date | string | null;
  retired_at: Date | string | null;
}

const privateKeys = new Map<string, KeyObject>();

async function newKeyRow(ctx: OperationContext, tenantId: string): Promise<Omit<KeyRow, 'created_at' | 'rotated_at' | 'retired_at' | 'status'>> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = base64urlDecode(String(publicKey.export({ format: 'jwk' }).x));
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return {
    kid: newId('vkey'),
    tenant_id: tenantId,
    public_multibase: ed25519Multikey(raw),
    private_key_enc: await ctx.crypto.encrypt(tenantId, pkcs8.toString('base64')),
  };
}

/** Serializes key changes of one tenant across processes; the unique partial index backs it up. */
async function lockKeys(tx: TxContext, tenantId: string): Promise<KeyRow | undefined> {
  await sql`select pg_advisory_xact_lock(hashtext(${`credentials.keys:${tenantId}`}))`.execute(tx.db);
  return (await tx.db.selectFrom('signing_keys').selectAll().where('tenant_id', '=', tenantId).where('status', '=', 'active').executeTakeFirst()) as KeyRow | undefined;
}

/** A tenant's keys as this process holds them: the trusted ones (active and rotated) and the active one's sealed private half. */
export interface TenantKeys {
  did: string;
  /** Newest first, as the trust list and the DID document list them. */
  trusted: TrustedKey[];
  /** The tenant's part of the trust list, as the pure verifier takes it. */
  trustList: TrustList;
  active: Pick<KeyRow, 'kid' | 'tenant_id' | 'private_key_enc'> | undefined;
}

/**
 * The tenant's keys, from this process's memory (see `state.ts` for how stale they may be); read
 * afresh, and not kept, inside a transaction (what is kept must be what committed).
 */
export function tenantKeys(state: CredentialsState, ctx: OperationContext, tenantId: string): Promise<TenantKeys> {
  if (insideTransaction(ctx)) return loadTenantKeys(ctx, tenantId);
  return state.keys.get(tenantId, () => loadTenantKeys(ctx, tenantId));
}

/** Reads the tenant's keys again, unless they were read less than `minAgeMs` ago (a proof naming a key the cache lacks). */
export function reloadTenantKeys(state: CredentialsState, ctx: OperationContext, tenantId: string, minAgeMs: number): Promise<TenantKeys> {
  if (insideTransaction(ctx)) return loadTenantKeys(ctx, tenantId);
  return state.keys.reload(tenantId, () => loadTenantKeys(ctx, tenantId), minAgeMs);
}

async function loadTenantKeys(ctx: OperationContext, tenantId: string): Promise<TenantKeys> {
  const rows = (await ctx.db
    .selectFrom('signing_keys')
    .select(['kid', 'tenant_id', 'public_multibase', 'status', 'private_key_enc'])
    .where('tenant_id', '=', tenantId)
    .where('status', '<>', 'retired')
    .orderBy('created_at', 'desc')
    .execute()) as KeyRow[];
  const did = issuerDid(ctx.config, tenantId);
  const trusted = rows.map((r): TrustedKey => ({ id: `${did}#${r.kid}`, type: 'Multikey', controller: did, publicKeyMultibase: r.public_multibase, status: r.status as TrustedKey['status'] }));
  const active = rows.find((r) => r.status === 'active');
  return { did, trusted, trustList: { issuers: trusted.length > 0 ? [{ id: did, keys: trusted }] : [] }, active: active && { kid: active.kid, tenant_id: active.tenant_id, private_key_enc: active.private_key_enc } };
}

/** What a key change of a tenant makes stale in this process: its keys and the status lists they signed. */
export function keysChanged(state: CredentialsState, tenantId: string): void {
  state.keys.forget(tenantId);
  state.statusLists.forgetWhere((key) => key.startsWith(`${tenantId}|`));
}

/**
 * The tenant's active signing key (cached), made on first use in a transaction of its own
 * (audited, event `credentials.key.created`).
 */
export async function signingKey(state: CredentialsState, ctx: OperationContext, tenantId: string): Promise<{ kid: string; privateKey: KeyObject }> {
  let keys = await tenantKeys(state, ctx, tenantId);
  if (!keys.active) {
    await createFirstKey(ctx, tenantId);
    keysChanged(state, tenantId);
    keys = await tenantKeys(state, ctx, tenantId);
    if (!keys.active) throw new Error(`tenant ${tenantId} has no active signing key`);
  }
  return { kid: keys.active.kid, privateKey: await privateKeyOf(ctx, keys.active) };
}

async function createFirstKey(ctx: OperationContext, tenantId: string): Promise<void> {
  // Sealing first: it may commit the tenant's data key in a transaction of its own.
  const fresh = await newKeyRow(ctx, tenantId);
  await ctx.transaction(async (tx) => {
    // Another request or process may have made it meanwhile.
    if (await lockKeys(tx, tenantId)) return;
    await tx.db.insertInto('signing_keys').values({ ...fresh, status: 'active' }).execute();
    await tx.audit({ action: 'credentials.key.created', entityType: 'signing_key', entityId: fresh.kid, tenantId, data: { alg: 'Ed25519' } });
    await tx.emit({ name: 'credentials.key.created', tenantId, payload: { tenantId, kid: fresh.kid } });
  });
}

async function privateKeyOf(ctx: OperationContext, row: Pick<KeyRow, 'kid' | 'tenant_id' | 'private_key_enc'>): Promise<KeyObject> {
  let key = privateKeys.get(row.kid);
  if (!key) {
    key = ed25519PrivateKey(Buffer.from(await ctx.crypto.decrypt(row.tenant_id, row.private_key_enc), 'base64'));
    privateKeys.set(row.kid, key);
  }
  return key;
}

export async function rotateKey(state: CredentialsState, ctx: OperationContext, tenantId: string): Promise<{ kid: string; rotated: string | null }> {
  const fresh = await newKeyRow(ctx, tenantId);
  try {
    return await ctx.transaction(async (tx) => {
      const previous = await lockKeys(tx, tenantId);
      if (previous) await tx.db.updateTable('signing_keys').set({ status: 'rotated', rotated_at: new Date() }).where('kid', '=', previous.kid).execute();
      await tx.db.insertInto('signing_keys').values({ ...fresh, status: 'active' }).execute();
      await tx.audit({ action: 'credentials.key.rotated', entityType: 'signing_key', entityId: fresh.kid, tenantId, data: { rotated: previous?.kid ?? null } });
      await tx.emit({ name: 'credentials.key.rotated', tenantId, payload: { tenantId, kid: fresh.kid, rotated: previous?.kid ?? null } });
      return { kid: fresh.kid, rotated: previous?.kid ?? null };
    });
  } finally {
    // New credentials and status lists use the new key from now on in this process.
    keysChanged(state, tenantId);
  }
}

export async function retireKey(state: CredentialsState, ctx: OperationContext, tenantId: string, kid: string): Promise<{ kid: string; status: 'retired' }> {
  try {
    return await ctx.transaction(async (tx) => {
      await lockKeys(tx, tenantId);
      const row = (await tx.db.selectFrom('signing_keys').selectAll().where('kid', '=', kid).where('tenant_id', '=', tenantId).executeTakeFirst()) as KeyRow | undefined;
      if (!row) throw CredentialErrors.keyNotFound();
      if (row.status === 'active') throw CredentialErrors.keyActive();
      if (row.status !== 'retired') {
        await tx.db.updateTable('signing_keys').set({ status: 'retired', retired_at: new Date() }).where('kid', '=', kid).execute();
        await tx.audit({ action: 'credentials.key.retired', entityType: 'signing_key', entityId: kid, tenantId, data: {} });
        await tx.emit({ name: 'credentials.key.retired', tenantId, payload: { tenantId, kid } });
      }
      return { kid, status: 'retired' as const };
    });
  } finally {
    // What the retired key signed stops verifying in this process at once.
    keysChanged(state, tenantId);
  }
}

function iso(value: Date | string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

export async function listKeys(ctx: OperationContext, tenantId: string) {
  const rows = (await ctx.db.selectFrom('signing_keys').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at', 'desc').execute()) as KeyRow[];
  const did = issuerDid(ctx.config, tenantId);
  return rows.map((r) => ({
    kid: r.kid,
    verificationMethod: `${did}#${r.kid}`,
    publicKeyMultibase: r.public_multibase,
    status: r.status,
    createdAt: iso(r.created_at)!,
    rotatedAt: iso(r.rotated_at),
    retiredAt: iso(r.retired_at),
  }));
}

/** Keys a verifier may trust, per issuer: active and rotated, never retired. */
export async function trustList(ctx: OperationContext, tenantId?: string): Promise<TrustList> {
  let query = ctx.db.selectFrom('signing_keys').select(['kid', 'tenant_id', 'public_multibase', 'status']).where('status', '<>', 'retired');
  if (tenantId !== undefined) query = query.where('tenant_id', '=', tenantId);
  const rows = await query.orderBy('tenant_id').orderBy('created_at', 'desc').execute();
  const issuers = new Map<string, TrustedKey[]>();
  for (const r of rows) {
    const did = issuerDid(ctx.config, String(r.tenant_id));
    const keys = issuers.get(did) ?? [];
    keys.push({ id: `${did}#${r.kid}`, type: 'Multikey', controller: did, publicKeyMultibase: String(r.public_multibase), status: r.status as TrustedKey['status'] });
    issuers.set(did, keys);
  }
  return { issuers: [...issuers].map(([id, keys]) => ({ id, keys })) };
}

/** The issuer's DID document (DID Core, Multikey verification methods). */
export async function didDocument(ctx: OperationContext, tenantId: string) {
  const list = await trustList(ctx, tenantId);
  const issuer = list.issuers[0];
  if (!issuer) throw CredentialErrors.issuerNotFound();
  const methods = issuer.keys.map(({ id, type, controller, publicKeyMultibase }) => ({ id, type, controller, publicKeyMultibase }));
  return {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
    id: issuer.id,
    verificationMethod: methods,
    assertionMethod: methods.map((m) => m.id),
  };
}
