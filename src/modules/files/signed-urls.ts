import { timingSafeEqual } from 'node:crypto';
import type { OperationContext } from '../../kernel/index.js';

export type Variant = 'content' | 'thumbnail';

export const SIGNED_PATH = '/api/files/v1/signed';

/**
 * A download link anyone holding it may use until it expires: an HMAC over the file id, the
 * variant and the expiry, keyed per tenant from the master key (the kernel's keyed digest,
 * purpose `files.signed-url`). Nothing is stored; changing the master key voids every link.
 */
export function signedUrl(ctx: OperationContext, file: { id: string; tenant_id: string }, variant: Variant, expires: number): string {
  const signature = sign(ctx, file, variant, expires);
  return `${SIGNED_PATH}/${file.id}?${new URLSearchParams({ variant, expires: String(expires), signature })}`;
}

export function signatureMatches(ctx: OperationContext, file: { id: string; tenant_id: string }, variant: Variant, expires: number, signature: string): boolean {
  const expected = Buffer.from(sign(ctx, file, variant, expires));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function sign(ctx: OperationContext, file: { id: string; tenant_id: string }, variant: Variant, expires: number): string {
  return ctx.crypto.blindIndex(file.tenant_id, 'signed-url', `${file.id}:${variant}:${expires}`);
}
