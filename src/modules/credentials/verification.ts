import type { OperationContext } from '../../kernel/index.js';
import type { JsonObject } from './data-integrity.js';
import { publicBase, tenantOfIssuer, trustList } from './keys.js';
import { statusListCredential } from './revocation.js';
import type { StatusPurpose } from './status-list.js';
import { verifyCredential, type VerificationResult } from './verify.js';

/**
 * The verification operation: the pure verifier fed from this deployment's own trust list and
 * status lists (read from the database, no network). A credential of another issuer is
 * untrusted here: its issuer is not in the trust list.
 */
export async function verifyHere(ctx: OperationContext, credential: JsonObject): Promise<VerificationResult> {
  const issuer = typeof credential.issuer === 'string' ? credential.issuer : ((credential.issuer as JsonObject | undefined)?.id as string | undefined);
  const tenant = issuer ? tenantOfIssuer(ctx.config, issuer) : undefined;
  const trusted = tenant ? await trustList(ctx, tenant) : { issuers: [] };
  const statusLists: Record<string, JsonObject> = {};
  const prefix = `${publicBase(ctx.config)}/api/credentials/v1/status-lists/`;
  for (const entry of [credential.credentialStatus ?? []].flat() as JsonObject[]) {
    const url = typeof entry?.statusListCredential === 'string' ? entry.statusListCredential : '';
    const match = url.startsWith(prefix) ? /^([^/]+)\/(revocation|suspension)\/(\d+)$/.exec(url.slice(prefix.length)) : null;
    if (!match || match[1] !== tenant || statusLists[url]) continue;
    try {
      statusLists[url] = await statusListCredential(ctx, match[1]!, match[2] as StatusPurpose, Number(match[3]));
    } catch {
      // No such list here: the pure verifier reports the status as unknown.
    }
  }
  return verifyCredential(credential, { trustList: trusted, statusLists });
}
