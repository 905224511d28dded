import { KernelErrors, newId, type OperationContext } from '../../kernel/index.js';
import { credentialView, findVisibleCredential } from './credential-records.js';
import { CredentialErrors } from './errors.js';
import { insertIfKeyActive, issuedAudit, issuedEvent, KEY_ATTEMPTS, NotInserted } from './issuance.js';
import { claimsHash, issuanceType, validityOf, type IssueInput, type PreparedIssue } from './issue-request.js';
import { keysChanged, signingKey } from './keys.js';
import { forgetStatusLists } from './revocation.js';
import { signRow } from './signed-row.js';
import type { CredentialsState } from './state.js';
import { takeStatusPosition } from './status-positions.js';
import { checkClaims } from './types.js';

/**
 * A correction: a new credential for the same source with the corrected claims, and the old one
 * revoked, linked both ways (`replaces`, `replacedBy`), in one transaction.
 */
export async function correctCredential(
  state: CredentialsState,
  ctx: OperationContext,
  input: { id: string; claims: Record<string, unknown>; subjectId?: string | undefined; validFrom?: string | undefined; validUntil?: string | undefined; reason: string },
) {
  const seen = await findVisibleCredential(ctx, ctx.db, input.id);
  const type = await issuanceType(state, ctx, seen.tenant_id, seen.type_code);
  if (!type) throw CredentialErrors.typeNotFound(seen.type_code);
  checkClaims(type, input.claims);
  const issue: IssueInput = { tenantId: seen.tenant_id, type: seen.type_code, sourceRef: seen.source_ref, subjectId: input.subjectId, claims: input.claims, validFrom: input.validFrom, validUntil: input.validUntil };
  const validity = validityOf(type, issue);
  // A correction keeps the credential linked to the same citizen.
  const mobileBidx = seen.subject_mobile_bidx;
  const item: PreparedIssue = { input: issue, hash: claimsHash(issue, mobileBidx), validity, mobileBidx, id: newId('cred'), replaces: seen.id };
  try {
    for (let attempt = 1; ; attempt++) {
      const key = await signingKey(state, ctx, seen.tenant_id);
      const row = await signRow(ctx, type, key, item, await takeStatusPosition(state, ctx, seen.tenant_id), new Date());
      try {
        return await ctx.transaction(async (tx) => {
          const old = await findVisibleCredential(ctx, tx.db, input.id, true);
          if (old.status === 'revoked') throw CredentialErrors.statusChangeNotAllowed('revoked', 'corrected');
          await tx.db.updateTable('credentials').set({ status: 'revoked', status_reason: input.reason, status_changed_at: new Date(), replaced_by: row.id }).where('id', '=', old.id).execute();
          await tx.emit({ name: 'credentials.credential.revoked', tenantId: old.tenant_id, payload: { id: old.id, tenantId: old.tenant_id, type: old.type_code, from: old.status, replacedBy: row.id } });
          await tx.audit({ action: 'credentials.credential.revoked', entityType: 'credential', entityId: old.id, tenantId: old.tenant_id, data: { from: old.status, reason: input.reason, replacedBy: row.id } });
          await tx.emit(issuedEvent(type, row));
          await tx.audit(issuedAudit(type, row));
          const [inserted] = await tx.lastWrite(insertIfKeyActive(row), () => new NotInserted());
          return credentialView({ ...row, document: row.signed, issued_at: inserted!.issued_at as Date | string, status_reason: null, status_changed_at: null, replaced_by: null });
        });
      } catch (err) {
        if (!(err instanceof NotInserted)) throw err;
      }
      // The old credential was just made way for, so the source was free: the key changed.
      keysChanged(state, seen.tenant_id);
      if (attempt >= KEY_ATTEMPTS) throw KernelErrors.conflict('The issuer’s signing key changed while correcting; retry');
    }
  } finally {
    forgetStatusLists(state, seen.tenant_id);
  }
}
