import { z } from '../../../kernel/index.js';
import { BillingErrors } from '../errors.js';
import type { GatewayOutcome, PaymentGateway } from './adapter.js';
import { equalHex, hmac, redirectText, SIGNATURE_HEADER } from './signatures.js';

/** A webhook older or newer than this (seconds) is refused: a captured one cannot be replayed later. */
export const WEBHOOK_TOLERANCE_S = 300;
const TIMEOUT_MS = 10_000;

const webhookBody = z.object({
  id: z.string().min(1).max(100),
  type: z.enum(['order.paid', 'order.failed']),
  data: z.object({ orderId: z.string().min(1).max(64), gatewayRef: z.string().min(1).max(100), amount: z.number().int().min(0), currency: z.string().length(3) }),
});

/**
 * The gateway protocol over HTTP (orders, status, refunds with a Bearer API key; signed
 * redirects and webhooks). Secrets come from configuration and are never logged or returned.
 */
export class HttpGateway implements PaymentGateway {
  readonly name = 'http';
  constructor(private readonly settings: { url: string; apiKey: string; secret: string }) {}

  private async call(method: string, path: string, body?: unknown): Promise<any> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.settings.url), {
        method,
        headers: { authorization: `Bearer ${this.settings.apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw BillingErrors.gatewayFailed((err as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable');
    }
    const text = await res.text();
    if (!res.ok) throw BillingErrors.gatewayFailed(`HTTP ${res.status}`);
    return text ? JSON.parse(text) : {};
  }

  async createOrder(order: { orderId: string; amount: number; currency: string; returnUrl: string; description: string }) {
    const made = await this.call('POST', '/v1/orders', { merchantOrderId: order.orderId, amount: order.amount, currency: order.currency, returnUrl: order.returnUrl, description: order.description });
    return { gatewayRef: String(made.id), redirectUrl: String(made.checkoutUrl) };
  }

  async orderStatus(gatewayRef: string) {
    const o = await this.call('GET', `/v1/orders/${encodeURIComponent(gatewayRef)}`);
    const status = o.status === 'paid' ? 'paid' : o.status === 'failed' ? 'failed' : 'pending';
    return { status, amount: Number(o.amount), currency: String(o.currency) } as const;
  }

  async refund(gatewayRef: string, refund: { refundId: string; amount: number }) {
    const r = await this.call('POST', `/v1/orders/${encodeURIComponent(gatewayRef)}/refunds`, refund);
    return { refundRef: String(r.id) };
  }

  parseRedirect(query: Record<string, unknown>): GatewayOutcome {
    const f = (k: string) => (typeof query[k] === 'string' ? (query[k] as string) : '');
    const fields = { order: f('order'), ref: f('ref'), status: f('status'), amount: f('amount'), t: f('t') };
    if (!fields.order || !fields.ref || !/^\d+$/.test(fields.amount) || !['paid', 'failed'].includes(fields.status)) throw BillingErrors.signatureInvalid('redirect fields missing');
    if (!equalHex(hmac(this.settings.secret, redirectText(fields)), f('sig'))) throw BillingErrors.signatureInvalid('the redirect signature does not match');
    return { orderId: fields.order, gatewayRef: fields.ref, status: fields.status as 'paid' | 'failed', amount: Number(fields.amount), currency: f('currency') };
  }

  parseWebhook(rawBody: string, headers: Record<string, unknown>, nowMs: number) {
    const header = headers[SIGNATURE_HEADER];
    const m = typeof header === 'string' ? /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header) : null;
    if (!m) throw BillingErrors.signatureInvalid(`${SIGNATURE_HEADER} is missing or malformed`);
    if (!equalHex(hmac(this.settings.secret, `${m[1]}.${rawBody}`), m[2]!)) throw BillingErrors.signatureInvalid('the webhook signature does not match');
    if (Math.abs(nowMs / 1000 - Number(m[1])) > WEBHOOK_TOLERANCE_S) throw BillingErrors.signatureInvalid('the webhook timestamp is too old or in the future');
    let json: unknown;
    try {
      json = JSON.parse(rawBody);
    } catch {
      throw BillingErrors.orderMismatch('the webhook body is not JSON');
    }
    const parsed = webhookBody.safeParse(json);
    if (!parsed.success) throw BillingErrors.orderMismatch('the webhook body is not an order event');
    const { id, type, data } = parsed.data;
    return { eventId: id, orderId: data.orderId, gatewayRef: data.gatewayRef, status: type === 'order.paid' ? ('paid' as const) : ('failed' as const), amount: data.amount, currency: data.currency };
  }
}
