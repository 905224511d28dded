import type { OperationContext } from '../../kernel/index.js';
import { addJcsProof, type JsonObject } from './data-integrity.js';
import { VC_V2_CONTEXT_URL } from './contexts.js';
import { CredentialErrors } from './errors.js';
import { credentialView, findVisibleCredential, type CredentialStatus } from './credential-records.js';
import { statusListUrl } from './signed-row.js';
import { issuerDid, signingKey, tenantKeys } from './keys.js';
import { insideTransaction, type CredentialsState } from './state.js';
import { encodeStatusList, STATUS_LIST_SIZE, type StatusPurpose } from './status-list.js';

/** Allowed changes: suspend and reinstate go back and forth; revoke is final. */
const ALLOWED: Record<CredentialStatus, CredentialStatus[]> = {
  active: ['suspended', 'revoked'],
  suspended: ['active', 'revoked'],
  revoked: [],
};

const EVENT: Record<CredentialStatus, string> = { active: 'reinstated', suspended: 'suspended', revoked: 'revoked' };

/** A signed status list credential as this process serves it, with the key that signed it. */
export interface SignedStatusList {
  document: JsonObject;
  kid: string;
  /** The bitstring it was made from, and until when it is served at most (five minutes before its `validUntil`). */
  encodedList: string;
  until: number;
}

/** Lists are served until this long before they expire (a verifier caching one gets most of its hour). */
const EXPIRY_MARGIN_MS = 5 * 60_000;

export function forgetStatusLists(state: CredentialsState, tenantId: string): void {
  state.statusLists.forgetWhere((key) => key.startsWith(`${tenantId}|`));
}

export async function changeStatus(state: CredentialsState, ctx: OperationContext, id: string, to: CredentialStatus, reason: string) {
  let tenantId: string | undefined;
  try {
    const result = await changeStatusInTx(ctx, id, to, reason);
    tenantId = result.tenantId;
    return result;
  } finally {
    // Verification in this process sees the change from now on (other processes: the module's listener).
    if (tenantId) forgetStatusLists(state, tenantId);
  }
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
 * The public Bitstring Status List credential of one tenant, purpose and list number, signed by
 * the tenant's active key, served from memory: read and signed again when a status change or key
 * change drops it (this process at once, others through the listener), when the key that signed
 * it is no longer the active one, and at the latest `cacheTtlMs` after it was read (see
 * `state.ts`). A list read again with the same bits and key keeps the document already signed, so
 * its `validFrom` and its signature change only when its content does or its hour runs out.
 * Verifiers may cache it until its `validUntil` (one hour).
 */
export async function statusListCredential(state: CredentialsState, ctx: OperationContext, tenantId: string, purpose: StatusPurpose, list: number): Promise<JsonObject> {
  return (await signedStatusList(state, ctx, tenantId, purpose, list)).document;
}

export async function signedStatusList(state: CredentialsState, ctx: OperationContext, tenantId: string, purpose: StatusPurpose, list: number): Promise<SignedStatusList> {
  const cacheKey = `${tenantId}|${purpose}|${list}`;
  const load = (previous: SignedStatusList | undefined) => readAndSign(state, ctx, tenantId, purpose, list, previous);
  if (insideTransaction(ctx)) return load(undefined);
  const keys = await tenantKeys(state, ctx, tenantId);
  let signed = await state.statusLists.get(cacheKey, load);
  // Signed by a key that is no longer the active one (a rotation seen through the keys first).
  if (signed.kid !== keys.active?.kid || signed.until <= Date.now()) {
    state.statusLists.forget(cacheKey);
    signed = await state.statusLists.get(cacheKey, load);
  }
  return signed;
}

async function readAndSign(state: CredentialsState, ctx: OperationContext, tenantId: string, purpose: StatusPurpose, list: number, previous: SignedStatusList | undefined): Promise<SignedStatusList> {
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
  const encodedList = encodeStatusList(rows.map((r) => Number(r.status_index) - from));
  const key = await signingKey(state, ctx, tenantId);
  if (previous && previous.encodedList === encodedList && previous.kid === key.kid && previous.until > Date.now()) return previous;
  const url = statusListUrl(ctx, tenantId, purpose, list);
  const now = new Date();
  const document: JsonObject = {
    '@context': [VC_V2_CONTEXT_URL],
    id: url,
    type: ['VerifiableCredential', 'BitstringStatusListCredential'],
    issuer: issuerDid(ctx.config, tenantId),
    validFrom: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    validUntil: new Date(now.getTime() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    credentialSubject: { id: `${url}#list`, type: 'BitstringStatusList', statusPurpose: purpose, encodedList },
  };
  const signed = addJcsProof(document, { privateKey: key.privateKey, verificationMethod: `${issuerDid(ctx.config, tenantId)}#${key.kid}` });
  return { document: signed, kid: key.kid, encodedList, until: Date.parse(String(document.validUntil)) - EXPIRY_MARGIN_MS };
}
