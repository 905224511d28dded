import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hmac, redirectText, signWebhook, SIGNATURE_HEADER } from '../gateway/signatures.js';
import { checkoutPage } from './checkout-page.js';

/**
 * How the sandbox misbehaves, as real gateways do: decline every payment, never send the
 * browser back (lost callback), send webhooks late or never, or deliver each several times.
 */
export interface SandboxBehaviour {
  declineAll: boolean;
  redirect: boolean;
  webhook: 'immediate' | 'late' | 'never';
  webhookDelayMs: number;
  webhookCopies: number;
}

export interface SandboxOrder {
  id: string;
  merchantOrderId: string;
  amount: number;
  currency: string;
  description: string;
  returnUrl: string;
  status: 'created' | 'paid' | 'failed';
  refunds: Map<string, { id: string; amount: number }>;
}

export interface SandboxGateway {
  url: string;
  behaviour: SandboxBehaviour;
  /** Where webhooks go (set in the merchant dashboard of a real gateway). */
  webhookUrl: string | undefined;
  orders: Map<string, SandboxOrder>;
  /** Webhook deliveries attempted, with their HTTP status (0: unreachable). */
  deliveries: Array<{ eventId: string; status: number }>;
  /** Resolves when every scheduled webhook has been delivered or given up. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULTS: SandboxBehaviour = { declineAll: false, redirect: true, webhook: 'immediate', webhookDelayMs: 2_000, webhookCopies: 1 };

async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * A payment gateway for development and tests, on its own HTTP listener: `POST /v1/orders`
 * (Bearer API key) → a checkout URL; `GET /checkout/:id` shows the page, whose form posts the
 * outcome; the browser is sent back to the order's return URL with a signed query, and a signed
 * webhook goes to `webhookUrl` (retried on failure). `GET /v1/orders/:id` and
 * `POST /v1/orders/:id/refunds` answer as a real gateway's API would.
 */
export async function startSandboxGateway(options: { apiKey: string; secret: string; webhookUrl?: string; port?: number; behaviour?: Partial<SandboxBehaviour> }): Promise<SandboxGateway> {
  const orders = new Map<string, SandboxOrder>();
  const deliveries: SandboxGateway['deliveries'] = [];
  const pending = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  const state = { behaviour: { ...DEFAULTS, ...options.behaviour }, webhookUrl: options.webhookUrl };

  const authorised = (req: IncomingMessage) => req.headers.authorization === `Bearer ${options.apiKey}`;
  const view = (o: SandboxOrder) => ({ id: o.id, merchantOrderId: o.merchantOrderId, amount: o.amount, currency: o.currency, status: o.status });

  async function deliver(body: string, eventId: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      let status = 0;
      try {
        if (!state.webhookUrl) return;
        const res = await fetch(state.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(options.secret, body, Math.floor(Date.now() / 1000)) }, body });
        status = res.status;
        await res.arrayBuffer();
      } catch {
        status = 0;
      }
      deliveries.push({ eventId, status });
      if (status >= 200 && status < 300) return;
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }

  function scheduleWebhooks(o: SandboxOrder): void {
    const b = state.behaviour;
    if (b.webhook === 'never') return;
    const eventId = `evt_${randomBytes(8).toString('hex')}`;
    const body = JSON.stringify({ id: eventId, type: o.status === 'paid' ? 'order.paid' : 'order.failed', data: { orderId: o.merchantOrderId, gatewayRef: o.id, amount: o.amount, currency: o.currency } });
    const send = () => {
      for (let i = 0; i < b.webhookCopies; i++) {
        const p = deliver(body, eventId).finally(() => pending.delete(p));
        pending.add(p);
      }
    };
    if (b.webhook === 'immediate') send();
    else {
      const timer = setTimeout(() => {
        timers.delete(timer);
        send();
      }, b.webhookDelayMs);
      timers.add(timer);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const parts = url.pathname.split('/').filter(Boolean);
    if (req.method === 'POST' && url.pathname === '/v1/orders') {
      if (!authorised(req)) return json(res, 401, { error: 'bad api key' });
      let input: any;
      try {
        input = JSON.parse(await readBody(req));
      } catch {
        return json(res, 400, { error: 'body must be JSON' });
      }
      if (!Number.isSafeInteger(input?.amount) || input.amount <= 0 || typeof input.merchantOrderId !== 'string' || typeof input.returnUrl !== 'string' || !/^[A-Z]{3}$/.test(input.currency ?? '')) {
        return json(res, 400, { error: 'merchantOrderId, amount (minor units), currency and returnUrl are required' });
      }
      const o: SandboxOrder = { id: `sbx_${randomBytes(10).toString('hex')}`, merchantOrderId: input.merchantOrderId, amount: input.amount, currency: input.currency, description: String(input.description ?? ''), returnUrl: input.returnUrl, status: 'created', refunds: new Map() };
      orders.set(o.id, o);
      return json(res, 201, { ...view(o), checkoutUrl: `${gateway.url}/checkout/${o.id}` });
    }
    if (parts[0] === 'v1' && parts[1] === 'orders' && parts[2]) {
      if (!authorised(req)) return json(res, 401, { error: 'bad api key' });
      const o = orders.get(parts[2]);
      if (!o) return json(res, 404, { error: 'no such order' });
      if (req.method === 'GET' && parts.length === 3) return json(res, 200, view(o));
      if (req.method === 'POST' && parts[3] === 'refunds') {
        const input = JSON.parse((await readBody(req)) || '{}');
        if (o.status !== 'paid') return json(res, 409, { error: 'order not paid' });
        const prior = o.refunds.get(String(input.refundId));
        if (prior) return json(res, 200, prior);
        const done = [...o.refunds.values()].reduce((s, r) => s + r.amount, 0);
        if (!Number.isSafeInteger(input.amount) || input.amount <= 0 || done + input.amount > o.amount) return json(res, 400, { error: 'bad refund amount' });
        const refund = { id: `sbx_rfnd_${randomBytes(6).toString('hex')}`, amount: input.amount };
        o.refunds.set(String(input.refundId), refund);
        return json(res, 201, refund);
      }
    }
    if (parts[0] === 'checkout' && parts[1]) {
      const o = orders.get(parts[1]);
      if (!o) return json(res, 404, { error: 'no such order' });
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(checkoutPage(o));
        return;
      }
      if (req.method === 'POST' && o.status === 'created') {
        const form = new URLSearchParams(await readBody(req));
        o.status = state.behaviour.declineAll || form.get('outcome') !== 'paid' ? 'failed' : 'paid';
        scheduleWebhooks(o);
        if (!state.behaviour.redirect) {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><p>Payment processed. You may close this window.</p>');
          return;
        }
        const fields = { order: o.merchantOrderId, ref: o.id, status: o.status, amount: String(o.amount), t: String(Math.floor(Date.now() / 1000)) };
        const back = new URL(o.returnUrl);
        for (const [k, v] of Object.entries(fields)) back.searchParams.set(k, v);
        back.searchParams.set('currency', o.currency);
        back.searchParams.set('sig', hmac(options.secret, redirectText(fields)));
        res.writeHead(303, { location: back.toString() }).end();
        return;
      }
      return json(res, 409, { error: `order is ${o.status}` });
    }
    json(res, 404, { error: 'not found' });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) json(res, 400, { error: 'bad request' });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const gateway: SandboxGateway = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get behaviour() {
      return state.behaviour;
    },
    set behaviour(b: SandboxBehaviour) {
      state.behaviour = b;
    },
    get webhookUrl() {
      return state.webhookUrl;
    },
    set webhookUrl(u: string | undefined) {
      state.webhookUrl = u;
    },
    orders,
    deliveries,
    async idle() {
      while (pending.size > 0 || timers.size > 0) await new Promise((r) => setTimeout(r, 20));
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.allSettled([...pending]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return gateway;
}
