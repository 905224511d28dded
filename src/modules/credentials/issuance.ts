import { CompiledQuery, type Compilable } from 'kysely';
import { KernelErrors, newId, type OperationContext } from '../../kernel/index.js';
import { credentialView, existing, type CredentialRow } from './credential-records.js';
import { CredentialErrors } from './errors.js';
import { claimsHash, issuanceType, mobileBidxOf, validityOf, type IssueInput, type PreparedIssue } from './issue-request.js';
import { keysChanged, signingKey } from './keys.js';
import { signRow, type SignedRow } from './signed-row.js';
import type { CredentialsState } from './state.js';
import { takeStatusPosition } from './status-positions.js';
import { checkClaims, type CredentialType } from './types.js';

/** The insert found the source taken, or the key no longer active: nothing of it was written. */
export class NotInserted extends Error {}
/** A key retired meanwhile (here or elsewhere) is read again this many times before giving up. */
export const KEY_ATTEMPTS = 3;

/**
 * Issues a W3C VC 2.0 credential with an `eddsa-jcs-2022` proof under the tenant's active key.
 * Idempotent by (type, sourceRef): the same request answers the credential already issued; the
 * same source with other claims is 409 (a correction revokes and reissues).
 *
 * The type, key and status position come from this process's memory, and the signing happens
 * before any statement, so the whole issuance is one statement (no BEGIN or COMMIT): the
 * credential, its event and its audit entry, inserted only if the source is free and the key
 * still the tenant's active one. When it inserts nothing, the source's credential is read and
 * answered (or 409); when the source is free, the key changed in another process since it was
 * read here: the keys are read again and the credential signed anew.
 */
export async function issueCredential(state: CredentialsState, ctx: OperationContext, input: IssueInput) {
  const type = await issuanceType(state, ctx, input.tenantId, input.type);
  if (!type) throw CredentialErrors.typeNotFound(input.type);
  checkClaims(type, input.claims);
  const mobileBidx = mobileBidxOf(ctx, input);
  const hash = claimsHash(input, mobileBidx);
  const validity = validityOf(type, input);
  const item: PreparedIssue = { input, hash, validity, mobileBidx, id: newId('cred'), replaces: null };
  for (let attempt = 1; ; attempt++) {
    const key = await signingKey(state, ctx, input.tenantId);
    const position = await takeStatusPosition(state, ctx, input.tenantId);
    const row = await signRow(ctx, type, key, item, position, new Date());
    try {
      const issuedAt = await ctx.transaction(async (tx) => {
        await tx.emit(issuedEvent(type, row));
        await tx.audit(issuedAudit(type, row));
        const [inserted] = await tx.lastWrite(insertIfKeyActive(row), () => new NotInserted());
        return inserted!.issued_at as Date | string;
      });
      return { ...credentialView({ ...row, document: row.signed, issued_at: issuedAt, status_reason: null, status_changed_at: null, replaced_by: null }), created: true };
    } catch (err) {
      if (!(err instanceof NotInserted)) throw err;
    }
    const winner = await existing(ctx.db, input);
    if (winner) return sameOrConflict(winner, hash);
    keysChanged(state, input.tenantId);
    if (attempt >= KEY_ATTEMPTS) throw KernelErrors.conflict('The issuer’s signing key changed while issuing; retry');
  }
}

function sameOrConflict(row: CredentialRow, hash: string) {
  if (row.claims_hash !== hash) throw CredentialErrors.sourceConflict();
  return { ...credentialView(row), created: false };
}

/** The columns a credential is inserted with. */
export const INSERTED = ['id', 'tenant_id', 'type_code', 'source_ref', 'claims_hash', 'status', 'status_index', 'kid', 'document', 'valid_until', 'replaces', 'subject_mobile_bidx', 'short_code', 'bulk_job_id'] as const;

/**
 * `insert into credentials (…) select … where <the key is still active> on conflict (source) do
 * nothing returning issued_at`: no row when the source is taken or the key was rotated away.
 * Written once as text (a query builder costs more per issuance than the rest of the statement's
 * bookkeeping), with the row's values as parameters.
 */
const INSERT_IF_KEY_ACTIVE = `insert into credentials.credentials (${INSERTED.map((c) => `"${c}"`).join(', ')})
  select ${INSERTED.map((_, i) => `$${i + 1}`).join(', ')}
  where exists (select 1 from credentials.signing_keys where kid = $${INSERTED.length + 1} and status = 'active')
  on conflict (tenant_id, type_code, source_ref) where replaced_by is null do nothing
  returning issued_at`;

export function insertIfKeyActive(row: SignedRow): Compilable<{ issued_at: Date | string }> {
  return { compile: () => CompiledQuery.raw(INSERT_IF_KEY_ACTIVE, [...INSERTED.map((column) => row[column]), row.kid]) };
}

export function issuedEvent(type: CredentialType, row: Pick<SignedRow, 'id' | 'tenant_id' | 'source_ref' | 'kid' | 'replaces' | 'bulk_job_id'>) {
  return {
    name: 'credentials.credential.issued',
    tenantId: row.tenant_id,
    payload: { id: row.id, tenantId: row.tenant_id, type: type.code, sourceRef: row.source_ref, kid: row.kid, replaces: row.replaces, ...(row.bulk_job_id ? { bulkJob: row.bulk_job_id } : {}) },
  };
}

export function issuedAudit(type: CredentialType, row: SignedRow) {
  return { action: 'credentials.credential.issued', entityType: 'credential', entityId: row.id, tenantId: row.tenant_id, data: { type: type.code, kid: row.kid, statusIndex: row.status_index, replaces: row.replaces } };
}
