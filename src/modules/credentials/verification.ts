import { createHash } from 'node:crypto';
import type { OperationContext } from '../../kernel/index.js';
import type { JsonObject } from './data-integrity.js';
import { ed25519VerifyOffThread } from './ed25519-thread.js';
import { publicBase, reloadTenantKeys, tenantKeys, tenantOfIssuer } from './keys.js';
import { statusListCredential } from './revocation.js';
import { KEY_MISS_RELOAD_MS, type CredentialsState } from './state.js';
import type { StatusPurpose } from './status-list.js';
import type { VerifyPrimitives } from './proof-check.js';
import { verifyCredential, type TrustList, type VerificationResult } from './verify.js';

const NO_ISSUERS: TrustList = { issuers: [] };

/**
 * node:crypto's SHA-256, synchronous (Web Crypto costs a thread hop per call), and libsodium's
 * Ed25519 on a thread of its own (`ed25519-thread.ts`; on this one with node:crypto where the
 * addon does not load): the signature check is most of a verification's CPU.
 */
const SERVER_PRIMITIVES: VerifyPrimitives = { sha256: (data) => createHash('sha256').update(data).digest(), ed25519Verify: ed25519VerifyOffThread };

/**
 * The verification operation: the pure verifier fed from this deployment's own trust list and
 * status lists, both held in this process's memory (`state.ts` says how stale they may be), so
 * a verification reads nothing from the database once they are loaded. A credential of another
 * issuer is untrusted here: its issuer is not in the trust list.
 */
export async function verifyHere(state: CredentialsState, ctx: OperationContext, credential: JsonObject): Promise<VerificationResult> {
  const issuer: unknown = typeof credential.issuer === 'string' ? credential.issuer : (credential.issuer as JsonObject | null | undefined)?.id;
  const tenant = typeof issuer === 'string' ? tenantOfIssuer(ctx.config, issuer) : undefined;
  let trusted = NO_ISSUERS;
  if (tenant) {
    let keys = await tenantKeys(state, ctx, tenant);
    const method = (credential.proof as JsonObject | undefined)?.verificationMethod;
    // A key of this issuer the cache lacks may have been made a moment ago in another process.
    if (typeof method === 'string' && method.startsWith(`${keys.did}#`) && !keys.trusted.some((k) => k.id === method)) {
      keys = await reloadTenantKeys(state, ctx, tenant, KEY_MISS_RELOAD_MS);
    }
    trusted = keys.trustList;
  }
  const statusLists: Record<string, JsonObject> = {};
  const prefix = `${publicBase(ctx.config)}/api/credentials/v1/status-lists/`;
  for (const entry of [credential.credentialStatus ?? []].flat() as JsonObject[]) {
    const url = typeof entry?.statusListCredential === 'string' ? entry.statusListCredential : '';
    const match = url.startsWith(prefix) ? /^([^/]+)\/(revocation|suspension)\/(\d+)$/.exec(url.slice(prefix.length)) : null;
    if (!match || match[1] !== tenant || statusLists[url]) continue;
    try {
      statusLists[url] = await statusListCredential(state, ctx, match[1]!, match[2] as StatusPurpose, Number(match[3]));
    } catch {
      // No such list here: the pure verifier reports the status as unknown.
    }
  }
  return verifyCredential(credential, { trustList: trusted, statusLists, primitives: SERVER_PRIMITIVES });
}
