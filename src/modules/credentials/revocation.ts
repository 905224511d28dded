import type { OperationContext } from '../../kernel/index.js';
import { addJcsProof, type JsonObject } from './data-integrity.js';
import { VC_V2_CONTEXT_URL } from './contexts.js';
import { CredentialErrors } from './errors.js';
import { credentialView, findVisibleCredential, statusListUrl, type CredentialStatus } from './issuance.js';
import { activeKey, issuerDid } from './keys.js';
import { encodeStatusList, STATUS_LIST_SIZE, type StatusPurpose } from './status-list.js';

/** Allowed changes: suspend and reinstate go back and forth; revoke is final. */
const ALLOWED: Record<CredentialStatus, CredentialStatus[]> = {
  active: ['suspended', 'revoked'],
  suspended: ['active', 'revoked'],
  revoked: [],
};

const EVENT: Record<CredentialStatus, string> = { active: 'reinstated', suspended: 'suspended', revoked: 'revoked' };

/**
 * Signed status list credentials, kept between verifications until shortly before their
 * `validUntil` (signing one reads every flagged credential of the list). A status change or a key
 * change of the tenant drops its lists: in this process at once, in the others through the
 * module's event listener (`index.ts`).
 */
const statusListCache = new Map<string, { document: JsonObject; until: number }>();
/** Lists are served from the cache until this long before they expire. */
const CACHE_MARGIN_MS = 5 * 60_000;

export function forgetStatusLists(tenantId: string): void {
  for (const key of statusListCache.keys()) if (key.startsWith(`${tenantId}|`)) statusListCache.delete(key);
}

export async function changeStatus(ctx: OperationContext, id: string, to: CredentialStatus, reason: string) {
  const result = await changeStatusInTx(ctx, id, to, reason);
  forgetStatusLists(result.tenantId);
  return result;
}

async function changeStatusInTx(ctx: OperationContext, id: string, to: CredentialStatus, reason: string) {
  return ctx.transaction(async (tx) => {
    const row = await findVisibleCredential(ctx, tx.db, id, true);
    if (!ALLOWED[row.status].includes(to)) throw CredentialErrors.statusChangeNotAllowed(row.status, to);
    const updated = await tx.db
      .updateTable('credentials')
      .set({ status: to, status_reason: reason, status_changed_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const verb = EVENT[to];
    await tx.emit({ name: `credentials.credential.${verb}`, tenantId: row.tenant_id, payload: { id, tenantId: row.tenant_id, type: row.type_code, from: row.status } });
    await tx.audit({ action: `credentials.credential.${verb}`, entityType: 'credential', entityId: id, tenantId: row.tenant_id, data: { from: row.status, reason } });
    return credentialView(updated as never);
  });
}

/**
 * The public Bitstring Status List credential of one tenant, purpose and list number, signed now
 * by the tenant's active key. Verifiers may cache it until its `validUntil` (one hour).
 */
export async function statusListCredential(ctx: OperationContext, tenantId: string, purpose: StatusPurpose, list: number): Promise<JsonObject> {
  // Keyed by the active key too: a list signed by a key since rotated (here or in another process) is never served.
  const active = await ctx.db.selectFrom('signing_keys').select('kid').where('tenant_id', '=', tenantId).where('status', '=', 'active').executeTakeFirst();
  const key = `${tenantId}|${purpose}|${list}|${active?.kid ?? ''}`;
  const cached = statusListCache.get(key);
  if (cached && cached.until > Date.now()) return cached.document;
  const document = await signStatusList(ctx, tenantId, purpose, list);
  statusListCache.set(key, { document, until: Date.parse(String(document.validUntil)) - CACHE_MARGIN_MS });
  return document;
}

async function signStatusList(ctx: OperationContext, tenantId: string, purpose: StatusPurpose, list: number): Promise<JsonObject> {
  const from = list * STATUS_LIST_SIZE;
  const allocated = await ctx.db.selectFrom('status_allocations').select('next_index').where('tenant_id', '=', tenantId).executeTakeFirst();
  if (!allocated || Number(allocated.next_index) <= from) throw CredentialErrors.statusListNotFound();
  const flagged = purpose === 'revocation' ? 'revoked' : 'suspended';
  const rows = await ctx.db
    .selectFrom('credentials')
    .select('status_index')
    .where('tenant_id', '=', tenantId)
    .where('status', '=', flagged)
    .where('status_index', '>=', from)
    .where('status_index', '<', from + STATUS_LIST_SIZE)
    .execute();
  const url = statusListUrl(ctx, tenantId, purpose, list);
  const now = new Date();
  const document: JsonObject = {
    '@context': [VC_V2_CONTEXT_URL],
    id: url,
    type: ['VerifiableCredential', 'BitstringStatusListCredential'],
    issuer: issuerDid(ctx.config, tenantId),
    validFrom: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    validUntil: new Date(now.getTime() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    credentialSubject: { id: `${url}#list`, type: 'BitstringStatusList', statusPurpose: purpose, encodedList: encodeStatusList(rows.map((r) => Number(r.status_index) - from)) },
  };
  const key = await ctx.transaction((tx) => activeKey(ctx, tx, tenantId));
  return addJcsProof(document, { privateKey: key.privateKey, verificationMethod: `${issuerDid(ctx.config, tenantId)}#${key.kid}` });
}
