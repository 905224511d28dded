import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { KernelErrors, newId, sql, tenantCovers, type OperationContext, type TxContext } from '../../kernel/index.js';
import { base58btcEncode } from './codecs.js';
import { ISSUER_DEPENDENT_CONTEXT, VC_V2_CONTEXT_URL } from './contexts.js';
import { jcs, type JsonObject } from './data-integrity.js';
import { signDocument } from './signing.js';
import { forgetStatusLists } from './revocation.js';
import { CredentialErrors } from './errors.js';
import { activeKey, issuerDid, publicBase } from './keys.js';
import { STATUS_LIST_SIZE, STATUS_PURPOSES, type StatusPurpose } from './status-list.js';
import { permuteStatusIndex } from './status-index.js';
import { checkClaims, findType, type CredentialType } from './types.js';

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

export interface IssueInput {
  tenantId: string;
  type: string;
  sourceRef: string;
  subjectId?: string | undefined;
  /** The subject's mobile: kept only as a blind index, so the citizen finds the credential after an OTP sign-in. */
  subjectMobile?: string | undefined;
  claims: Record<string, unknown>;
  validFrom?: string | undefined;
  validUntil?: string | undefined;
}

/** A 10-digit Indian mobile, as identity keeps it: spaces, dashes, a leading +91 or 0 dropped. */
export function normaliseMobile(value: string): string | undefined {
  let digits = value.replace(/[\s-]/g, '');
  if (/^\+91\d{10}$/.test(digits)) digits = digits.slice(3);
  else if (/^0\d{10}$/.test(digits)) digits = digits.slice(1);
  return /^[6-9]\d{9}$/.test(digits) ? digits : undefined;
}

/** The root of a dotted tenant code (`in.ka.bengaluru` → `in`): citizens have one account per root. */
export function rootTenant(tenantId: string): string {
  return tenantId.split('.')[0]!;
}

/** The subject mobile's blind index, keyed by the tenant root (as citizens' accounts are). */
export function mobileIndex(ctx: Pick<OperationContext, 'crypto'>, tenantId: string, mobile: string): string {
  return ctx.crypto.blindIndex(rootTenant(tenantId), 'subject.mobile', mobile);
}

/** The code of a credential's short lookup URL: 12 base58 characters, about 70 random bits. */
export function newShortCode(): string {
  return base58btcEncode(randomBytes(12)).slice(0, 12).padEnd(12, '1');
}

export function shortUrl(ctx: Pick<OperationContext, 'config'>, code: string): string {
  return `${publicBase(ctx.config)}/c/${code}`;
}

export function statusListUrl(ctx: OperationContext, tenantId: string, purpose: StatusPurpose, list: number): string {
  return `${publicBase(ctx.config)}/api/credentials/v1/status-lists/${tenantId}/${purpose}/${list}`;
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

/**
 * What makes two issuance requests for one source "the same": subject and claims, canonical (the
 * mobile by its blind index, and only when given, so hashes of requests without one never change).
 */
export function claimsHash(input: IssueInput, mobileBidx?: string | null): string {
  return createHash('sha256')
    .update(
      jcs({
        subjectId: input.subjectId ?? null,
        claims: input.claims,
        validFrom: input.validFrom ?? null,
        validUntil: input.validUntil ?? null,
        ...(mobileBidx ? { mobile: mobileBidx } : {}),
      }),
    )
    .digest('base64url');
}

/** The current credential of a source (a corrected one is replaced). */
async function existing(db: OperationContext['db'] | TxContext['db'], input: IssueInput): Promise<CredentialRow | undefined> {
  return (await db
    .selectFrom('credentials')
    .selectAll()
    .where('replaced_by', 'is', null)
    .where('tenant_id', '=', input.tenantId)
    .where('type_code', '=', input.type)
    .where('source_ref', '=', input.sourceRef)
    .executeTakeFirst()) as CredentialRow | undefined;
}

function sameOrConflict(row: CredentialRow, hash: string) {
  if (row.claims_hash !== hash) throw CredentialErrors.sourceConflict();
  return { ...credentialView(row), created: false };
}

/**
 * The next status position of a tenant (one position serves both its revocation and its
 * suspension list): the n-th credential goes to list n / 131072, at a pseudo-random bit of it.
 */
// Raw SQL does not get the module's schema by default: the table is qualified.
export async function allocateStatusIndices(tx: TxContext, tenantId: string, count = 1): Promise<number[]> {
  const { rows } = await sql<{ n: number; seed: string }>`
    insert into credentials.status_allocations as a (tenant_id, next_index, seed) values (${tenantId}, ${count}, ${randomBytes(32).toString('base64url')})
    on conflict (tenant_id) do update set next_index = a.next_index + ${count}
    returning next_index - ${count} as n, seed`.execute(tx.db);
  const first = Number(rows[0]!.n);
  return Array.from({ length: count }, (_, i) => {
    const n = first + i;
    const list = Math.floor(n / STATUS_LIST_SIZE);
    return list * STATUS_LIST_SIZE + permuteStatusIndex(rows[0]!.seed, list, n % STATUS_LIST_SIZE);
  });
}

export type Validity = { validFrom: Date; validUntil: Date | undefined };

export function validityOf(type: CredentialType, input: Pick<IssueInput, 'validFrom' | 'validUntil'>): Validity {
  const validFrom = input.validFrom ? new Date(input.validFrom) : new Date();
  const validUntil = input.validUntil ? new Date(input.validUntil) : type.validityDays !== null ? new Date(validFrom.getTime() + type.validityDays * 86_400_000) : undefined;
  if (validUntil && validUntil.getTime() <= validFrom.getTime()) throw CredentialErrors.validityInvalid('validUntil must be after validFrom');
  return { validFrom, validUntil };
}

/**
 * Issues a W3C VC 2.0 credential with an `eddsa-jcs-2022` proof under the tenant's active key.
 * Idempotent by (type, sourceRef): the same request answers the credential already issued; the
 * same source with other claims is 409 (a correction revokes and reissues).
 */
export async function issueCredential(ctx: OperationContext, input: IssueInput) {
  const type = await findType(ctx, input.tenantId, input.type);
  if (!type) throw CredentialErrors.typeNotFound(input.type);
  checkClaims(type, input.claims);
  const hash = claimsHash(input, mobileBidxOf(ctx, input));
  const before = await existing(ctx.db, input);
  if (before) return sameOrConflict(before, hash);
  const validity = validityOf(type, input);
  return ctx.transaction(async (tx) => {
    const row = await signAndInsert(ctx, tx, type, input, hash, validity, newId('cred'), null, mobileBidxOf(ctx, input));
    if (!row) {
      // A concurrent request for the same source won; answer its credential.
      const winner = await existing(tx.db, input);
      return sameOrConflict(winner!, hash);
    }
    return { ...credentialView(row), created: true };
  });
}

function mobileBidxOf(ctx: OperationContext, input: IssueInput): string | null {
  if (input.subjectMobile === undefined) return null;
  const mobile = normaliseMobile(input.subjectMobile);
  if (!mobile) throw CredentialErrors.mobileInvalid('body.subjectMobile');
  return mobileIndex(ctx, input.tenantId, mobile);
}

/** One credential to build and sign: what was asked, and what issuance derived from it. */
export interface PreparedIssue {
  input: IssueInput;
  hash: string;
  validity: Validity;
  mobileBidx: string | null;
  id: string;
  replaces: string | null;
  bulkJobId?: string | undefined;
}

/**
 * Builds, signs and stores credentials of one type and tenant in one statement, with an event
 * each. Answers the stored rows; a source already taken (a concurrent issuance) is left out. The
 * caller audits (one entry per credential, or one per bulk batch).
 */
export async function signAndInsertMany(ctx: OperationContext, tx: TxContext, type: CredentialType, items: PreparedIssue[]): Promise<CredentialRow[]> {
  if (items.length === 0) return [];
  const tenantId = items[0]!.input.tenantId;
  const key = await activeKey(ctx, tx, tenantId);
  const indices = await allocateStatusIndices(tx, tenantId, items.length);
  const did = issuerDid(ctx.config, tenantId);
  const verificationMethod = `${did}#${key.kid}`;
  const created = new Date();
  const values = [];
  for (const [i, item] of items.entries()) {
    const index = indices[i]!;
    const list = Math.floor(index / STATUS_LIST_SIZE);
    const { input, validity } = item;
    const document: JsonObject = {
      '@context': type.cryptosuite === 'eddsa-rdfc-2022' ? [VC_V2_CONTEXT_URL, { ...ISSUER_DEPENDENT_CONTEXT }] : [VC_V2_CONTEXT_URL],
      id: `urn:uuid:${randomUUID()}`,
      type: ['VerifiableCredential', type.vcType],
      issuer: did,
      validFrom: isoSeconds(validity.validFrom),
      ...(validity.validUntil ? { validUntil: isoSeconds(validity.validUntil) } : {}),
      credentialSubject: { ...input.claims, ...(input.subjectId ? { id: input.subjectId } : {}) },
      credentialStatus: STATUS_PURPOSES.map((purpose) => {
        const url = statusListUrl(ctx, tenantId, purpose, list);
        return { type: 'BitstringStatusListEntry', statusPurpose: purpose, statusListIndex: String(index % STATUS_LIST_SIZE), statusListCredential: url };
      }),
    };
    const signed = await signDocument(document, { privateKey: key.privateKey, verificationMethod }, type.cryptosuite, created);
    values.push({
      id: item.id,
      tenant_id: tenantId,
      type_code: type.code,
      source_ref: input.sourceRef,
      claims_hash: item.hash,
      status: 'active',
      status_index: index,
      kid: key.kid,
      document: JSON.stringify(signed),
      valid_until: validity.validUntil ?? null,
      replaces: item.replaces,
      subject_mobile_bidx: item.mobileBidx,
      short_code: newShortCode(),
      bulk_job_id: item.bulkJobId ?? null,
    });
  }
  const rows = (await tx.db
    .insertInto('credentials')
    .values(values)
    .onConflict((oc) => oc.columns(['tenant_id', 'type_code', 'source_ref']).where('replaced_by', 'is', null).doNothing())
    .returningAll()
    .execute()) as CredentialRow[];
  for (const row of rows) {
    await tx.emit({
      name: 'credentials.credential.issued',
      tenantId,
      payload: { id: row.id, tenantId, type: type.code, sourceRef: row.source_ref, kid: key.kid, replaces: row.replaces, ...(row.bulk_job_id ? { bulkJob: row.bulk_job_id } : {}) },
    });
  }
  return rows;
}

/** Builds, signs and stores one credential, with its event and audit entry; undefined when the source is taken. */
async function signAndInsert(ctx: OperationContext, tx: TxContext, type: CredentialType, input: IssueInput, hash: string, validity: Validity, id: string, replaces: string | null, mobileBidx: string | null) {
  const [row] = await signAndInsertMany(ctx, tx, type, [{ input, hash, validity, id, replaces, mobileBidx }]);
  if (!row) return undefined;
  await tx.audit({ action: 'credentials.credential.issued', entityType: 'credential', entityId: id, tenantId: input.tenantId, data: { type: type.code, kid: row.kid, statusIndex: row.status_index, replaces } });
  return row;
}

/**
 * A correction: a new credential for the same source with the corrected claims, and the old one
 * revoked, linked both ways (`replaces`, `replacedBy`), in one transaction.
 */
export async function correctCredential(
  ctx: OperationContext,
  input: { id: string; claims: Record<string, unknown>; subjectId?: string | undefined; validFrom?: string | undefined; validUntil?: string | undefined; reason: string },
) {
  const seen = await findVisibleCredential(ctx, ctx.db, input.id);
  const type = await findType(ctx, seen.tenant_id, seen.type_code);
  if (!type) throw CredentialErrors.typeNotFound(seen.type_code);
  checkClaims(type, input.claims);
  const issue: IssueInput = { tenantId: seen.tenant_id, type: seen.type_code, sourceRef: seen.source_ref, subjectId: input.subjectId, claims: input.claims, validFrom: input.validFrom, validUntil: input.validUntil };
  const validity = validityOf(type, issue);
  // A correction keeps the credential linked to the same citizen.
  const mobileBidx = seen.subject_mobile_bidx;
  const corrected = await ctx.transaction(async (tx) => {
    const old = await findVisibleCredential(ctx, tx.db, input.id, true);
    if (old.status === 'revoked') throw CredentialErrors.statusChangeNotAllowed('revoked', 'corrected');
    const id = newId('cred');
    await tx.db.updateTable('credentials').set({ status: 'revoked', status_reason: input.reason, status_changed_at: new Date(), replaced_by: id }).where('id', '=', old.id).execute();
    await tx.emit({ name: 'credentials.credential.revoked', tenantId: old.tenant_id, payload: { id: old.id, tenantId: old.tenant_id, type: old.type_code, from: old.status, replacedBy: id } });
    await tx.audit({ action: 'credentials.credential.revoked', entityType: 'credential', entityId: old.id, tenantId: old.tenant_id, data: { from: old.status, reason: input.reason, replacedBy: id } });
    const row = await signAndInsert(ctx, tx, type, issue, claimsHash(issue, mobileBidx), validity, id, old.id, mobileBidx);
    if (!row) throw KernelErrors.conflict('The credential changed since it was read; read it again and retry');
    return credentialView(row);
  });
  forgetStatusLists(seen.tenant_id);
  return corrected;
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
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
