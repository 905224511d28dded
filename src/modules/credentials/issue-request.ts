/**
 * What an issuance request asks, checked before anything is signed (type, claims, mobile, validity),
 * and what is derived from it: the claims hash that makes a repeated request idempotent.
 */

import { createHash } from 'node:crypto';
import type { OperationContext } from '../../kernel/index.js';
import { jcs } from './data-integrity.js';
import { CredentialErrors } from './errors.js';
import { insideTransaction, type CredentialsState } from './state.js';
import { findType, type CredentialType } from './types.js';

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

export function mobileBidxOf(ctx: OperationContext, input: IssueInput): string | null {
  if (input.subjectMobile === undefined) return null;
  const mobile = normaliseMobile(input.subjectMobile);
  if (!mobile) throw CredentialErrors.mobileInvalid('body.subjectMobile');
  return mobileIndex(ctx, input.tenantId, mobile);
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
