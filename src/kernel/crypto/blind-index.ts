import { createHmac, hkdfSync } from 'node:crypto';

/** Derived keys per master key; a WeakMap so a dropped master key takes its derivations along. */
const derived = new WeakMap<Buffer, Map<string, Buffer>>();

/**
 * A keyed, deterministic digest of a PII value for exact-match search without decrypting.
 * The key is derived per tenant and purpose, so equal values in two tenants (or in two fields)
 * do not produce equal indexes and cannot be joined across them.
 */
export function blindIndex(masterKey: Buffer, tenantId: string, purpose: string, value: string): string {
  return createHmac('sha256', indexKey(masterKey, tenantId, purpose))
    .update(normalizeForIndex(value), 'utf8')
    .digest('base64url');
}

/** What "the same value" means for search: Unicode-compatible forms, no case, no outer spaces. */
export function normalizeForIndex(value: string): string {
  return value.normalize('NFKC').trim().toLowerCase();
}

function indexKey(masterKey: Buffer, tenantId: string, purpose: string): Buffer {
  let keys = derived.get(masterKey);
  if (!keys) {
    keys = new Map();
    derived.set(masterKey, keys);
  }
  const info = `seva-blind-index:${tenantId}:${purpose}`;
  let key = keys.get(info);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), info, 32));
    keys.set(info, key);
  }
  return key;
}
