import { systemActor, type OperationContext } from '../../kernel/index.js';
import { CredentialErrors } from './errors.js';
import { credentialView, shortUrl, type CredentialRow } from './credential-records.js';
import { mobileIndex, normaliseMobile, rootTenant } from './issue-request.js';
import type { CredentialsState } from './state.js';
import { findType } from './types.js';
import { verifyHere } from './verification.js';

/**
 * Citizen retrieval and the public short-URL lookup. A citizen signs in with mobile + OTP
 * (identity); credentials issued with that mobile (kept here only as a blind index keyed by the
 * tenant root) are theirs. The citizen's mobile comes from identity's `listContacts`, asked as the
 * platform (the citizen may not read contacts), for the caller's own user id only.
 */

export const OWN_READ = 'credentials.own.read';

interface Contact {
  id: string;
  kind: 'employee' | 'citizen';
  mobile: string | null;
}

/** The blind index of the signed-in citizen's mobile, or undefined (not a citizen, no mobile). */
async function citizenMobileIndex(state: CredentialsState, ctx: OperationContext): Promise<string | undefined> {
  const actor = ctx.actor;
  if (actor.kind !== 'user' || !actor.tenantId) return undefined;
  const platform = state.runtime ? state.runtime.context(systemActor('credentials.citizen'), ctx.requestId) : ctx;
  const { items } = await platform.call<{ items: Contact[] }>('identity', 'listContacts', { tenant: actor.tenantId, userIds: [actor.id] });
  const me = items.find((c) => c.id === actor.id);
  const mobile = me?.kind === 'citizen' && me.mobile ? normaliseMobile(me.mobile) : undefined;
  return mobile ? mobileIndex(ctx, actor.tenantId, mobile) : undefined;
}

function ofRoot(root: string) {
  return (eb: any) => eb.or([eb('tenant_id', '=', root), eb('tenant_id', 'like', `${root}.%`)]);
}

/** The caller's credentials, newest first (corrected ones left out: their correction is listed). */
export async function myCredentials(state: CredentialsState, ctx: OperationContext) {
  const bidx = await citizenMobileIndex(state, ctx);
  if (!bidx) return { items: [] };
  const rows = (await ctx.db
    .selectFrom('credentials')
    .selectAll()
    .where('subject_mobile_bidx', '=', bidx)
    .where(ofRoot(rootTenant(ctx.actor.tenantId!)))
    .where('replaced_by', 'is', null)
    .orderBy('issued_at', 'desc')
    .limit(200)
    .execute()) as CredentialRow[];
  const names = new Map<string, string>();
  const items = [];
  for (const row of rows) {
    const key = `${row.tenant_id}:${row.type_code}`;
    if (!names.has(key)) names.set(key, (await findType(ctx, row.tenant_id, row.type_code))?.name ?? row.type_code);
    const view = credentialView(row);
    items.push({
      id: row.id,
      tenantId: row.tenant_id,
      type: row.type_code,
      typeName: names.get(key)!,
      status: row.status,
      issuedAt: view.issuedAt,
      validUntil: typeof view.credential.validUntil === 'string' ? view.credential.validUntil : null,
      shortUrl: row.short_code ? shortUrl(ctx, row.short_code) : null,
    });
  }
  return { items };
}

/** One of the caller's credentials, or 404 (someone else's looks like none). */
export async function myCredential(state: CredentialsState, ctx: OperationContext, id: string): Promise<CredentialRow> {
  const bidx = await citizenMobileIndex(state, ctx);
  const row = bidx
    ? ((await ctx.db
        .selectFrom('credentials')
        .selectAll()
        .where('id', '=', id)
        .where('subject_mobile_bidx', '=', bidx)
        .where(ofRoot(rootTenant(ctx.actor.tenantId!)))
        .executeTakeFirst()) as CredentialRow | undefined)
    : undefined;
  if (!row) throw CredentialErrors.notLinkedToCitizen();
  await ctx.transaction((tx) => tx.audit({ action: 'credentials.credential.downloaded', entityType: 'credential', entityId: row.id, tenantId: row.tenant_id, data: { by: 'subject' } }));
  return row;
}

/**
 * The public view behind a credential's short URL: what the credential is, who issued it, and
 * whether it verifies now; no claims (the QR on the paper carries them, and the holder shows them).
 */
export async function lookupShortCode(state: CredentialsState, ctx: OperationContext, code: string) {
  const row = (await ctx.db.selectFrom('credentials').selectAll().where('short_code', '=', code).executeTakeFirst()) as CredentialRow | undefined;
  if (!row) throw CredentialErrors.credentialNotFound();
  const view = credentialView(row);
  const type = await findType(ctx, row.tenant_id, row.type_code);
  const result = await verifyHere(state, ctx, view.credential);
  return {
    id: row.id,
    type: row.type_code,
    typeName: type?.name ?? row.type_code,
    issuer: result.issuer,
    issuedAt: view.issuedAt,
    validFrom: typeof view.credential.validFrom === 'string' ? view.credential.validFrom : null,
    validUntil: typeof view.credential.validUntil === 'string' ? view.credential.validUntil : null,
    status: row.status,
    replacedBy: row.replaced_by,
    verified: result.verified,
    problems: result.problems,
  };
}
