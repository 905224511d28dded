import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signing scheme of the gateway protocol (the sandbox speaks it, the HTTP adapter checks it):
 * webhooks carry `x-gateway-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`;
 * redirects carry `sig`, the HMAC of `order|ref|status|amount|t`.
 */
export const SIGNATURE_HEADER = 'x-gateway-signature';

export function hmac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

export function signWebhook(secret: string, rawBody: string, t: number): string {
  return `t=${t},v1=${hmac(secret, `${t}.${rawBody}`)}`;
}

export interface RedirectFields {
  order: string;
  ref: string;
  status: string;
  amount: string;
  t: string;
}

export const redirectText = (f: RedirectFields) => `${f.order}|${f.ref}|${f.status}|${f.amount}|${f.t}`;

export function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
