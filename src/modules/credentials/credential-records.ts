/** Issued credentials as stored: the row, its public view, and the reads issuance and its callers share. */

import { tenantCovers, type OperationContext, type TxContext } from '../../kernel/index.js';
import type { JsonObject } from './data-integrity.js';
import { CredentialErrors } from './errors.js';
import type { IssueInput } from './issue-request.js';
import { publicBase } from './keys.js';

export const CREDENTIAL_STATUSES = ['active', 'suspended', 'revoked'] as const;
export type CredentialStatus = (typeof CREDENTIAL_STATUSES)[number];

export interface CredentialRow {
  id: string;
  tenant_id: string;
  type_code: string;
  source_ref: string;
  claims_hash: string;
  status: CredentialStatus;
  status_index: number;
  kid: string;
  document: JsonObject | string;
  valid_until: Date | string | null;
  issued_at: Date | string;
  status_reason: string | null;
  status_changed_at: Date | string | null;
  replaces: string | null;
  replaced_by: string | null;
  subject_mobile_bidx: string | null;
  short_code: string | null;
  bulk_job_id: string | null;
}


export function shortUrl(ctx: Pick<OperationContext, 'config'>, code: string): string {
  return `${publicBase(ctx.config)}/c/${code}`;
}

export function credentialView(row: CredentialRow) {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    type: row.type_code,
    sourceRef: row.source_ref,
    status: row.status,
    statusReason: row.status_reason,
    issuedAt: new Date(row.issued_at).toISOString(),
    replaces: row.replaces,
    replacedBy: row.replaced_by,
    shortCode: row.short_code,
    credential: (typeof row.document === 'string' ? JSON.parse(row.document) : row.document) as JsonObject,
  };
}

/** The current credential of a source (a corrected one is replaced). */
export async function existing(db: OperationContext['db'] | TxContext['db'], input: Pick<IssueInput, 'tenantId' | 'type' | 'sourceRef'>): Promise<CredentialRow | undefined> {
  return (await db
    .selectFrom('credentials')
    .selectAll()
    .where('replaced_by', 'is', null)
    .where('tenant_id', '=', input.tenantId)
    .where('type_code', '=', input.type)
    .where('source_ref', '=', input.sourceRef)
    .executeTakeFirst()) as CredentialRow | undefined;
}


/** A credential the actor's tenant covers, or 404 (another tenant's looks like none). */
export async function findVisibleCredential(ctx: OperationContext, db: OperationContext['db'] | TxContext['db'], id: string, forUpdate = false): Promise<CredentialRow> {
  let query = db.selectFrom('credentials').selectAll().where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  const row = (await query.executeTakeFirst()) as CredentialRow | undefined;
  const actor = ctx.actor;
  const visible = row && (actor.kind === 'system' || (actor.kind === 'user' && !!actor.tenantId && tenantCovers(actor.tenantId, row.tenant_id)));
  if (!visible) throw CredentialErrors.credentialNotFound();
  return row;
}
