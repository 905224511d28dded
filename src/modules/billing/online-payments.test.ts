import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CITY, setUpBilling } from '../../../test/support/billing-setup.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from '../identity/index.js';
import { referenceModuleWith } from '../reference/index.js';
import { signWebhook, SIGNATURE_HEADER } from './gateway/signatures.js';
import { billingModuleWith } from './index.js';
import { startSandboxGateway, type SandboxGateway } from './sandbox-gateway/server.js';

const API = '/api/billing/v1';
const API_KEY = 'sandbox-api-key-1234';
const SECRET = 'sandbox-webhook-secret-0123456789';
let now = new Date();
let t: TestRuntime;
let gateway: SandboxGateway;
let employee: Record<string, string>;
let citizen: Record<string, string>;
let seq = 0;

const post = (h: Record<string, string>, url: string, payload: object) => t.runtime.http.inject({ method: 'POST', url: `${API}${url}`, headers: h, payload });
const get = (h: Record<string, string>, url: string) => t.runtime.http.inject({ url: `${API}${url}`, headers: h });

/** A demand, its bill, and an online order for it; answers the order with its checkout URL. */
async function order() {
  const d = await post(employee, '/demands', { tenantId: CITY, service: 'TL', consumerCode: `ONLINE-${++seq}`, periodFrom: '2026-04-01', periodTo: '2027-03-31', dueAt: '2027-03-31T00:00:00Z', data: { tradeArea: 200 } });
  expect(d.statusCode, d.body).toBe(201);
  const bill = (await post(citizen, '/bills', { tenantId: CITY, demandId: d.json().id })).json();
  const o = await post(citizen, '/payments/online', { tenantId: CITY, billId: bill.id, returnUrl: 'https://portal.example.org/paid' });
  expect(o.statusCode, o.body).toBe(201);
  return { demandId: d.json().id as string, bill, order: o.json() };
}

/** The citizen at the sandbox's checkout page: reads it, presses a button; answers the gateway's response. */
async function checkout(url: string, outcome: 'paid' | 'failed') {
  const page = await fetch(url);
  const html = await page.text();
  expect(html).toContain('Sandbox payment gateway');
  return fetch(url, { method: 'POST', body: new URLSearchParams({ outcome }), redirect: 'manual' });
}

async function demandOf(id: string) {
  return (await get(employee, `/demands/${id}`)).json();
}

beforeAll(async () => {
  gateway = await startSandboxGateway({ apiKey: API_KEY, secret: SECRET });
  t = await startTestRuntime(
    [identityModule, referenceModuleWith(), billingModuleWith({ clock: () => now, scheduledReconcile: false })],
    { paymentGatewayUrl: gateway.url, paymentGatewayKey: API_KEY, paymentGatewayWebhookSecret: SECRET },
    true,
  );
  gateway.webhookUrl = `http://127.0.0.1:${(t.runtime.http.server.address() as { port: number }).port}${API}/gateway/webhook`;
  await setUpBilling(t);
  employee = await t.as({ id: 'usr_clerk', tenantId: CITY, permissions: ['billing.*'] });
  citizen = await t.as({ id: 'usr_citizen', tenantId: CITY, permissions: ['billing.bill.generate', 'billing.payment.online', 'billing.payment.read'] });
}, 120_000);
afterAll(async () => {
  await gateway?.close();
  await t?.close();
});

describe('online payments through the sandbox gateway', () => {
  it('pays through checkout: the signed redirect settles the order, the webhook after it changes nothing', async () => {
    const { demandId, bill, order: o } = await order();
    expect(o).toMatchObject({ status: 'created', amount: bill.total });
    const res = await checkout(o.redirectUrl, 'paid');
    expect(res.status).toBe(303);
    const back = new URL(res.headers.get('location')!);
    const callback = await t.runtime.http.inject({ url: `${back.pathname}${back.search}` });
    expect(callback.statusCode, callback.body).toBe(303);
    const landing = new URL(callback.headers.location as string);
    expect(landing.origin + landing.pathname).toBe('https://portal.example.org/paid');
    expect(landing.searchParams.get('status')).toBe('paid');
    await gateway.idle();
    expect((await get(citizen, `/orders/${o.id}`)).json()).toMatchObject({ status: 'paid', settledVia: 'callback' });
    expect(await demandOf(demandId)).toMatchObject({ status: 'paid', collected: bill.total });
    const payment = (await get(citizen, `/payments/${landing.searchParams.get('payment')}`)).json();
    expect(payment).toMatchObject({ mode: 'online', amount: bill.total, orderId: o.id });
  });

  it('refuses a tampered redirect and a webhook with a bad signature, and changes nothing', async () => {
    const { demandId, order: o } = await order();
    gateway.behaviour = { ...gateway.behaviour, webhook: 'never' };
    const res = await checkout(o.redirectUrl, 'paid');
    const back = new URL(res.headers.get('location')!);
    back.searchParams.set('amount', '1');
    expect((await t.runtime.http.inject({ url: `${back.pathname}${back.search}` })).json()).toMatchObject({ status: 401, code: 'BILLING_SIGNATURE_INVALID' });
    const body = JSON.stringify({ id: 'evt_forged', type: 'order.paid', data: { orderId: o.id, gatewayRef: o.redirectUrl.split('/').pop(), amount: o.amount, currency: 'INR' } });
    const forged = await t.runtime.http.inject({ method: 'POST', url: `${API}/gateway/webhook`, headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook('not-the-secret-at-all-0000', body, Math.floor(Date.now() / 1000)) }, payload: body });
    expect(forged.statusCode).toBe(401);
    expect(forged.json()).toMatchObject({ code: 'BILLING_SIGNATURE_INVALID' });
    const stale = await t.runtime.http.inject({ method: 'POST', url: `${API}/gateway/webhook`, headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(SECRET, body, Math.floor(Date.now() / 1000) - 3_600) }, payload: body });
    expect(stale.json()).toMatchObject({ status: 401, code: 'BILLING_SIGNATURE_INVALID' });
    const unsigned = await t.runtime.http.inject({ method: 'POST', url: `${API}/gateway/webhook`, headers: { 'content-type': 'application/json' }, payload: body });
    expect(unsigned.statusCode).toBe(401);
    expect((await get(citizen, `/orders/${o.id}`)).json().status).toBe('created');
    expect(await demandOf(demandId)).toMatchObject({ status: 'active', collected: 0 });
  });

  it('counts the same webhook delivered three times once', async () => {
    gateway.behaviour = { ...gateway.behaviour, redirect: false, webhook: 'immediate', webhookCopies: 3 };
    const { demandId, bill, order: o } = await order();
    const before = gateway.deliveries.length;
    expect((await checkout(o.redirectUrl, 'paid')).status).toBe(200);
    await gateway.idle();
    const mine = gateway.deliveries.slice(before);
    expect(mine).toHaveLength(3);
    expect(mine.every((d) => d.status === 200)).toBe(true);
    expect(new Set(mine.map((d) => d.eventId)).size).toBe(1);
    expect((await get(citizen, `/orders/${o.id}`)).json()).toMatchObject({ status: 'paid', settledVia: 'webhook' });
    expect(await demandOf(demandId)).toMatchObject({ status: 'paid', collected: bill.total });
    const payments = await t.runtime.database.db.selectFrom('billing.payments' as any).select('id').where('demand_id', '=', demandId).execute();
    expect(payments).toHaveLength(1);
  });

  it('settles an order whose callback was lost by the reconciliation pass; a late webhook then changes nothing', async () => {
    // The citizen pays and closes the window: no redirect; the webhook comes late.
    gateway.behaviour = { ...gateway.behaviour, redirect: false, webhook: 'late', webhookDelayMs: 1_500, webhookCopies: 1 };
    const { demandId, bill, order: o } = await order();
    expect((await checkout(o.redirectUrl, 'paid')).status).toBe(200);
    // Too recent to ask about.
    expect((await post(employee, '/gateway/reconcile', {})).json()).toMatchObject({ checked: 0 });
    now = new Date(now.getTime() + 3 * 60_000);
    // Also the order of the tampered-redirect test, which the gateway did take: it is settled too.
    expect((await post(employee, '/gateway/reconcile', {})).json()).toMatchObject({ checked: 2, paid: 2, errors: 0 });
    expect((await get(citizen, `/orders/${o.id}`)).json()).toMatchObject({ status: 'paid', settledVia: 'reconcile' });
    await gateway.idle();
    expect(gateway.deliveries.at(-1)).toMatchObject({ status: 200 });
    expect(await demandOf(demandId)).toMatchObject({ status: 'paid', collected: bill.total });
    const payments = await t.runtime.database.db.selectFrom('billing.payments' as any).select('id').where('demand_id', '=', demandId).execute();
    expect(payments).toHaveLength(1);
  });

  it('records a declined payment as failed, and refunds an online payment through the gateway', async () => {
    gateway.behaviour = { ...gateway.behaviour, redirect: true, webhook: 'immediate' };
    const declined = await order();
    const res = await checkout(declined.order.redirectUrl, 'failed');
    const back = new URL(res.headers.get('location')!);
    await t.runtime.http.inject({ url: `${back.pathname}${back.search}` });
    await gateway.idle();
    expect((await get(citizen, `/orders/${declined.order.id}`)).json().status).toBe('failed');
    expect(await demandOf(declined.demandId)).toMatchObject({ status: 'active', collected: 0 });

    const paid = await order();
    const ok = await checkout(paid.order.redirectUrl, 'paid');
    const url = new URL(ok.headers.get('location')!);
    const landing = new URL((await t.runtime.http.inject({ url: `${url.pathname}${url.search}` })).headers.location as string);
    await gateway.idle();
    const paymentId = landing.searchParams.get('payment')!;
    const refund = await post(employee, `/payments/${paymentId}/refunds`, { amount: 10_000, reason: 'Overcharged cess', idempotencyKey: 'online-refund-1' });
    expect(refund.statusCode, refund.body).toBe(200);
    expect(refund.json().refunded).toBe(10_000);
    const sandboxOrder = gateway.orders.get(paid.order.redirectUrl.split('/').pop()!)!;
    expect([...sandboxOrder.refunds.values()].map((r) => r.amount)).toEqual([10_000]);
    expect(await demandOf(paid.demandId)).toMatchObject({ status: 'active', outstanding: 10_000 });
  });

  it('keeps the money of an order settled after its bill was paid at the counter as unallocated: the demand is never over-collected', async () => {
    gateway.behaviour = { ...gateway.behaviour, redirect: true, webhook: 'never' };
    const { demandId, bill, order: o } = await order();
    const counter = await post(employee, '/payments/counter', { tenantId: CITY, billId: bill.id, amount: bill.total, mode: 'cash', idempotencyKey: `counter-first-${demandId}` });
    expect(counter.statusCode, counter.body).toBe(201);
    const res = await checkout(o.redirectUrl, 'paid');
    const back = new URL(res.headers.get('location')!);
    const landing = new URL((await t.runtime.http.inject({ url: `${back.pathname}${back.search}` })).headers.location as string);
    expect(landing.searchParams.get('status')).toBe('paid');
    const online = (await get(citizen, `/payments/${landing.searchParams.get('payment')}`)).json();
    expect(online).toMatchObject({ mode: 'online', amount: bill.total, unallocated: bill.total });
    expect(online.receiptNo).not.toBe(counter.json().receiptNo);
    expect(await demandOf(demandId)).toMatchObject({ status: 'paid', total: bill.total, collected: bill.total, outstanding: 0 });
    const allocated = await t.runtime.database.db.selectFrom('billing.allocations' as any).select('id').where('payment_id', '=', online.id).execute();
    expect(allocated).toEqual([]);
  });
});
