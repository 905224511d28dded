import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { newId, sql, type OperationContext, type SevaConfig, type TxContext } from '../../kernel/index.js';
import { base64urlDecode, ed25519Multikey } from './codecs.js';
import { ed25519PrivateKey } from './data-integrity.js';
import { CredentialErrors } from './errors.js';
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
  const url = new URL(`${publicBase(config)}${ISSUER_PATH}/${tenantId}`);
  const segments = url.pathname.split('/').filter(Boolean).map(encodeURIComponent);
  return ['did:web', encodeURIComponent(url.host), ...segments].join(':');
}

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

/**
 * The tenant's active signing key, made on first use. Runs inside the caller's transaction (the
 * issuance), so a key made for a credential that rolls back rolls back with it.
 */
export async function activeKey(ctx: OperationContext, tx: TxContext, tenantId: string): Promise<{ kid: string; privateKey: KeyObject }> {
  let row = (await tx.db.selectFrom('signing_keys').selectAll().where('tenant_id', '=', tenantId).where('status', '=', 'active').executeTakeFirst()) as KeyRow | undefined;
  if (!row) {
    // Sealing first: it may commit the tenant's data key in a transaction of its own.
    const fresh = await newKeyRow(ctx, tenantId);
    row = await lockKeys(tx, tenantId);
    if (!row) {
      await tx.db.insertInto('signing_keys').values({ ...fresh, status: 'active' }).execute();
      await tx.audit({ action: 'credentials.key.created', entityType: 'signing_key', entityId: fresh.kid, tenantId, data: { alg: 'Ed25519' } });
      row = { ...fresh, status: 'active', created_at: new Date(), rotated_at: null, retired_at: null };
    }
  }
  return { kid: row.kid, privateKey: await privateKeyOf(ctx, row) };
}

async function privateKeyOf(ctx: OperationContext, row: Pick<KeyRow, 'kid' | 'tenant_id' | 'private_key_enc'>): Promise<KeyObject> {
  let key = privateKeys.get(row.kid);
  if (!key) {
    key = ed25519PrivateKey(Buffer.from(await ctx.crypto.decrypt(row.tenant_id, row.private_key_enc), 'base64'));
    privateKeys.set(row.kid, key);
  }
  return key;
}

export async function rotateKey(ctx: OperationContext, tenantId: string): Promise<{ kid: string; rotated: string | null }> {
  const fresh = await newKeyRow(ctx, tenantId);
  const result = await ctx.transaction(async (tx) => {
    const previous = await lockKeys(tx, tenantId);
    if (previous) await tx.db.updateTable('signing_keys').set({ status: 'rotated', rotated_at: new Date() }).where('kid', '=', previous.kid).execute();
    await tx.db.insertInto('signing_keys').values({ ...fresh, status: 'active' }).execute();
    await tx.audit({ action: 'credentials.key.rotated', entityType: 'signing_key', entityId: fresh.kid, tenantId, data: { rotated: previous?.kid ?? null } });
    await tx.emit({ name: 'credentials.key.rotated', tenantId, payload: { tenantId, kid: fresh.kid, rotated: previous?.kid ?? null } });
    return { kid: fresh.kid, rotated: previous?.kid ?? null };
  });
  // Lists signed by the previous key stay valid, but new ones come from the new key.
  keyChanged(tenantId);
  return result;
}

/** Set by the module: what a key change of a tenant invalidates (its cached status lists). */
let keyChanged: (tenantId: string) => void = () => {};
export function onKeyChange(listener: (tenantId: string) => void): void {
  keyChanged = listener;
}

export async function retireKey(ctx: OperationContext, tenantId: string, kid: string): Promise<{ kid: string; status: 'retired' }> {
  const result = await ctx.transaction(async (tx) => {
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
  keyChanged(tenantId);
  return result;
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
