import { createHash, randomBytes, randomFillSync, randomUUID } from 'node:crypto';
import { KernelErrors, newId, sql, tenantCovers, type OperationContext, type TxContext } from '../../kernel/index.js';
import { base58btcEncode } from './codecs.js';
import { ISSUER_DEPENDENT_CONTEXT, VC_V2_CONTEXT_URL } from './contexts.js';
import { jcs, jcsSigner, type JsonObject } from './data-integrity.js';
import { signDocument } from './signing.js';
import { forgetStatusLists } from './revocation.js';
import { CredentialErrors } from './errors.js';
import { issuerDid, keysChanged, publicBase, signingKey } from './keys.js';
import { insideTransaction, type CredentialsState } from './state.js';
import { STATUS_LIST_SIZE, STATUS_PURPOSES, type StatusPurpose } from './status-list.js';
import { permuteStatusIndex } from './status-index.js';
import { checkClaims, findType, type CredentialType } from './types.js';
import type { KeyObject } from 'node:crypto';
import { CompiledQuery, type Compilable } from 'kysely';

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
  if (randomAt + 12 > randomPool.length) {
    randomFillSync(randomPool);
    randomAt = 0;
  }
  const bytes = randomPool.subarray(randomAt, (randomAt += 12));
  return base58btcEncode(bytes).slice(0, 12).padEnd(12, '1');
}

/** Random bytes for short codes, drawn a few kilobytes at a time (one system call per 340 codes, not per code). */
const randomPool = new Uint8Array(4096 - (4096 % 12));
let randomAt = randomPool.length;

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

function sameOrConflict(row: CredentialRow, hash: string) {
  if (row.claims_hash !== hash) throw CredentialErrors.sourceConflict();
  return { ...credentialView(row), created: false };
}

/** Where the n-th status position of a tenant lies: list n / 131072, at a pseudo-random bit of it. */
export function statusPosition(seed: string, n: number): number {
  const list = Math.floor(n / STATUS_LIST_SIZE);
  return list * STATUS_LIST_SIZE + permuteStatusIndex(seed, list, n % STATUS_LIST_SIZE);
}

/**
 * Reserves the tenant's next `count` status positions (one position serves both its revocation
 * and its suspension list) in a statement of its own, committed at once, so no issuance waits on
 * another's transaction for its position. A reserved position never used (the process stopped,
 * the issuance failed) stays a zero bit in the list: harmless, and never handed out again.
 */
// Raw SQL does not get the module's schema by default: the table is qualified.
export async function reserveStatusPositions(ctx: OperationContext, tenantId: string, count: number): Promise<{ first: number; seed: string }> {
  const { rows } = await sql<{ n: number; seed: string }>`
    insert into credentials.status_allocations as a (tenant_id, next_index, seed) values (${tenantId}, ${count}, ${randomBytes(32).toString('base64url')})
    on conflict (tenant_id) do update set next_index = a.next_index + ${count}
    returning next_index - ${count} as n, seed`.execute(ctx.db);
  return { first: Number(rows[0]!.n), seed: rows[0]!.seed };
}

/**
 * A status position for one credential, from this process's block of the tenant's positions
 * (`statusBlock`, default 100, reserved in one short statement when the block runs out; callers
 * waiting for a refill share it). Inside a caller's transaction, one position reserved in it.
 */
export async function takeStatusPosition(state: CredentialsState, ctx: OperationContext, tenantId: string): Promise<number> {
  if (insideTransaction(ctx)) {
    const { first, seed } = await reserveStatusPositions(ctx, tenantId, 1);
    return statusPosition(seed, first);
  }
  for (;;) {
    const block = state.positions.get(tenantId);
    if (block && block.next < block.end) return statusPosition(block.seed, block.next++);
    let refill = state.refills.get(tenantId);
    if (!refill) {
      const size = state.statusBlock;
      refill = reserveStatusPositions(ctx, tenantId, size)
        .then(({ first, seed }) => {
          const fresh = { next: first, end: first + size, seed };
          state.positions.set(tenantId, fresh);
          return fresh;
        })
        .finally(() => state.refills.delete(tenantId));
      state.refills.set(tenantId, refill);
    }
    await refill;
  }
}

export type Validity = { validFrom: Date; validUntil: Date | undefined };

export function validityOf(type: CredentialType, input: Pick<IssueInput, 'validFrom' | 'validUntil'>): Validity {
  const validFrom = input.validFrom ? new Date(input.validFrom) : new Date();
  const validUntil = input.validUntil ? new Date(input.validUntil) : type.validityDays !== null ? new Date(validFrom.getTime() + type.validityDays * 86_400_000) : undefined;
  if (validUntil && validUntil.getTime() <= validFrom.getTime()) throw CredentialErrors.validityInvalid('validUntil must be after validFrom');
  return { validFrom, validUntil };
}

/**
 * A credential type as issuance reads it, from this process's memory: its claims schema, VC type,
 * validity and cryptosuite never change once it exists (display templates do, and are not read
 * from here). An unknown type is not remembered.
 */
export async function issuanceType(state: CredentialsState, ctx: OperationContext, tenantId: string, code: string): Promise<CredentialType | undefined> {
  if (insideTransaction(ctx)) return findType(ctx, tenantId, code);
  const key = `${tenantId}|${code}`;
  let type = state.types.get(key);
  if (!type) {
    type = await findType(ctx, tenantId, code);
    if (type) state.types.set(key, type);
  }
  return type;
}

/** The insert found the source taken, or the key no longer active: nothing of it was written. */
class NotInserted extends Error {}
/** A key retired meanwhile (here or elsewhere) is read again this many times before giving up. */
const KEY_ATTEMPTS = 3;

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

/** A credential's row as inserted: built and signed, not yet stored. */
export type SignedRow = Omit<CredentialRow, 'issued_at' | 'status_reason' | 'status_changed_at' | 'replaced_by' | 'document'> & { document: string; signed: JsonObject; valid_until: Date | null };

/**
 * Builds and signs one credential of `type` at status `position` with `key`: no statement.
 * `eddsa-jcs-2022` is synchronous (`ed25519.ts`: libsodium); `eddsa-rdfc-2022` loads a JSON-LD processor on first use.
 */
export async function signRow(
  ctx: OperationContext,
  type: CredentialType,
  key: { kid: string; privateKey: KeyObject },
  item: PreparedIssue,
  position: number,
  created: Date,
  sign: DocumentSigner = documentSigner(ctx, type, key, item.input.tenantId, created),
): Promise<SignedRow> {
  const { input, validity } = item;
  const tenantId = input.tenantId;
  const list = Math.floor(position / STATUS_LIST_SIZE);
  const document: JsonObject = {
    '@context': contextOf(type),
    id: `urn:uuid:${randomUUID()}`,
    type: ['VerifiableCredential', type.vcType],
    issuer: issuerDid(ctx.config, tenantId),
    validFrom: isoSeconds(validity.validFrom),
    ...(validity.validUntil ? { validUntil: isoSeconds(validity.validUntil) } : {}),
    credentialSubject: { ...input.claims, ...(input.subjectId ? { id: input.subjectId } : {}) },
    credentialStatus: STATUS_PURPOSES.map((purpose) => ({
      type: 'BitstringStatusListEntry',
      statusPurpose: purpose,
      statusListIndex: String(position % STATUS_LIST_SIZE),
      statusListCredential: statusListUrl(ctx, tenantId, purpose, list),
    })),
  };
  return rowOf(type, key.kid, item, position, await sign(document));
}

/** Signs credential documents of one type, tenant, key and creation time. */
export type DocumentSigner = (document: JsonObject) => JsonObject | Promise<JsonObject>;

function contextOf(type: CredentialType): unknown[] {
  return type.cryptosuite === 'eddsa-rdfc-2022' ? [VC_V2_CONTEXT_URL, { ...ISSUER_DEPENDENT_CONTEXT }] : [VC_V2_CONTEXT_URL];
}

/** The signer of a type's credentials (`eddsa-jcs-2022`: its proof configuration hashed once for all of them). */
export function documentSigner(ctx: OperationContext, type: CredentialType, key: { kid: string; privateKey: KeyObject }, tenantId: string, created: Date): DocumentSigner {
  const signer = { privateKey: key.privateKey, verificationMethod: `${issuerDid(ctx.config, tenantId)}#${key.kid}` };
  if (type.cryptosuite === 'eddsa-rdfc-2022') return (document) => signDocument(document, signer, type.cryptosuite, created);
  return jcsSigner(signer, created, contextOf(type));
}

function rowOf(type: CredentialType, kid: string, item: PreparedIssue, position: number, signed: JsonObject): SignedRow {
  return {
    id: item.id,
    tenant_id: item.input.tenantId,
    type_code: type.code,
    source_ref: item.input.sourceRef,
    claims_hash: item.hash,
    status: 'active',
    status_index: position,
    kid,
    document: JSON.stringify(signed),
    signed,
    valid_until: item.validity.validUntil ?? null,
    replaces: item.replaces,
    subject_mobile_bidx: item.mobileBidx,
    short_code: newShortCode(),
    bulk_job_id: item.bulkJobId ?? null,
  };
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

function insertIfKeyActive(row: SignedRow): Compilable<{ issued_at: Date | string }> {
  return { compile: () => CompiledQuery.raw(INSERT_IF_KEY_ACTIVE, [...INSERTED.map((column) => row[column]), row.kid]) };
}

export function issuedEvent(type: CredentialType, row: Pick<SignedRow, 'id' | 'tenant_id' | 'source_ref' | 'kid' | 'replaces' | 'bulk_job_id'>) {
  return {
    name: 'credentials.credential.issued',
    tenantId: row.tenant_id,
    payload: { id: row.id, tenantId: row.tenant_id, type: type.code, sourceRef: row.source_ref, kid: row.kid, replaces: row.replaces, ...(row.bulk_job_id ? { bulkJob: row.bulk_job_id } : {}) },
  };
}

function issuedAudit(type: CredentialType, row: SignedRow) {
  return { action: 'credentials.credential.issued', entityType: 'credential', entityId: row.id, tenantId: row.tenant_id, data: { type: type.code, kid: row.kid, statusIndex: row.status_index, replaces: row.replaces } };
}

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
