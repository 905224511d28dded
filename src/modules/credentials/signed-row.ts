/** Building a credential's VC 2.0 document, signing it, and the row it is inserted as; no statement runs here. */

import { randomFillSync, randomUUID, type KeyObject } from 'node:crypto';
import type { OperationContext } from '../../kernel/index.js';
import { base58btcEncode } from './codecs.js';
import { ISSUER_DEPENDENT_CONTEXT, VC_V2_CONTEXT_URL } from './contexts.js';
import type { CredentialRow } from './credential-records.js';
import { jcsSigner, type JsonObject } from './data-integrity.js';
import type { PreparedIssue } from './issue-request.js';
import { issuerDid, publicBase } from './keys.js';
import { signDocument } from './signing.js';
import { STATUS_LIST_SIZE, STATUS_PURPOSES, type StatusPurpose } from './status-list.js';
import type { CredentialType } from './types.js';

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

export function statusListUrl(ctx: OperationContext, tenantId: string, purpose: StatusPurpose, list: number): string {
  return `${publicBase(ctx.config)}/api/credentials/v1/status-lists/${tenantId}/${purpose}/${list}`;
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

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
