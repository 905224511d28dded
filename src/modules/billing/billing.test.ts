import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateExpression, sql, systemActor, verifyAuditChain } from '../../kernel/index.js';
import { CITY, setUpBilling } from '../../../test/support/billing-setup.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from '../identity/index.js';
import { referenceModuleWith } from '../reference/index.js';
import { planPayment, readBillForPayment, writePayment } from './apply-payment.js';
import { DEMO_FEE_RULE } from './demo-billing.js';
import { billingModuleWith } from './index.js';

const API = '/api/billing/v1';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let now = new Date('2026-01-10T06:00:00Z');
const advance = (ms: number) => (now = new Date(now.getTime() + ms));

let t: TestRuntime;
let cashier: Record<string, string>;
let cashier2: Record<string, string>;
let other: Record<string, string>;
let citizen: Record<string, string>;
const post = (h: Record<string, string>, url: string, payload: object) => t.runtime.http.inject({ method: 'POST', url: `${API}${url}`, headers: h, payload });
const get = (h: Record<string, string>, url: string) => t.runtime.http.inject({ url: `${API}${url}`, headers: h });
let seq = 0;

async function demand(area: number, dueAt: string, extra: object = {}) {
  const res = await post(cashier, '/demands', { tenantId: CITY, service: 'TL', consumerCode: `TL-${++seq}`, periodFrom: '2025-04-01', periodTo: '2026-03-31', dueAt, data: { tradeArea: area }, ...extra });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}
async function bill(demandId: string) {
  const res = await post(cashier, '/bills', { tenantId: CITY, demandId });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}
const pay = (billId: string, amount: number, key: string, extra: object = {}) => post(cashier, '/payments/counter', { tenantId: CITY, billId, amount, mode: 'cash', idempotencyKey: key, ...extra });

beforeAll(async () => {
  t = await startTestRuntime([identityModule, referenceModuleWith(), billingModuleWith({ clock: () => now, scheduledReconcile: false })]);
  await setUpBilling(t);
  cashier = await t.as({ id: 'usr_cashier', tenantId: CITY, permissions: ['billing.*'] });
  cashier2 = await t.as({ id: 'usr_cashier2', tenantId: CITY, permissions: ['billing.*'] });
  other = await t.as({ id: 'usr_mysuru', tenantId: 'in.ka.mysuru', permissions: ['billing.*'] });
  citizen = await t.as({ id: 'usr_citizen', tenantId: CITY, permissions: ['billing.config.read', 'billing.bill.generate'] });
}, 120_000);
afterAll(() => t?.close());

describe('the payment an idempotency key names', () => {
  // First in this file, while no payment exists: a plan made then is what a connection keeps.
  it('is found through its own unique index by a plan made while the table was empty', async () => {
    expect(Number((await sql<{ n: string }>`select count(*) as n from billing.payments`.execute(t.runtime.database.db)).rows[0]!.n)).toBe(0);
    const plan = await t.runtime.database.db.transaction().execute(async (trx) => {
      // The plan a prepared statement settles on after five runs, made now.
      await sql`set local plan_cache_mode = force_generic_plan`.execute(trx);
      await sql`prepare seva_prior_payment(text, text) as select to_json(p) from billing.payments p where p.tenant_id = $1 and p.idempotency_key = $2`.execute(trx);
      const { rows } = await sql<Record<string, string>>`explain execute seva_prior_payment('in.ka.bengaluru', 'key-1')`.execute(trx);
      await sql`deallocate seva_prior_payment`.execute(trx);
      return rows.map((r) => Object.values(r)[0]).join('\n');
    });
    expect(plan).toContain('payments_tenant_id_idempotency_key_key');
    expect(plan).not.toContain('Filter');
  });

  it('a consumer\'s payments are found through their own index, newest first, by a plan made while the table was empty', async () => {
    const plan = await t.runtime.database.db.transaction().execute(async (trx) => {
      await sql`set local plan_cache_mode = force_generic_plan`.execute(trx);
      // The statement findPayments sends.
      const q = trx.withSchema('billing').selectFrom('payments').selectAll().where('tenant_id', '=', 'x').where('service', '=', 'x').where('consumer_code', '=', 'x').orderBy('created_at', 'desc').limit(200).compile();
      await sql.raw(`prepare seva_consumer_payments(text, text, text, int) as ${q.sql}`).execute(trx);
      const { rows } = await sql<Record<string, string>>`explain execute seva_consumer_payments('in.ka.bengaluru', 'TL', 'C-1', 200)`.execute(trx);
      await sql`deallocate seva_consumer_payments`.execute(trx);
      return rows.map((r) => Object.values(r)[0]).join('\n');
    });
    expect(plan).toContain('payments_consumer');
    expect(plan).not.toContain('Filter');
    expect(plan).not.toContain('Sort');
  });
});

describe('fee rules', () => {
  it('computes slab fees and the per-unit cess, the same on the server and with the compiled rule the browser gets', async () => {
    const rule = (await get(citizen, `/fee-rules/TL?tenant=${CITY}`)).json();
    expect(rule.version).toBe(1);
    for (const [area, fee, cess] of [[80, 50_000, 16_000], [100, 50_000, 20_000], [101, 150_000, 20_200], [500, 150_000, 100_000], [1_999, 400_000, 200_000], [5_000, 1_000_000, 200_000], [10, 50_000, 10_000]]) {
      const res = await post(citizen, '/fee-rules/TL/estimate', { tenant: CITY, data: { tradeArea: area } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().lines, `area ${area}`).toEqual([{ taxHead: 'TL_FEE', amount: fee }, { taxHead: 'TL_ADHOC_TAX', amount: cess }]);
      // The browser's view: the compiled JSON Logic through the same evaluator.
      expect(rule.compiled.lines.map((l: any) => evaluateExpression(l.expression, { tradeArea: area }))).toEqual([fee, cess]);
    }
  });

  it('names the missing field, and refuses a rule with bad slabs or unknown tax heads', async () => {
    const res = await post(citizen, '/fee-rules/TL/estimate', { tenant: CITY, data: {} });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'BILLING_FEE_INPUT_INVALID', errors: [{ path: 'body.data.tradeArea' }] });
    const bad = await post(cashier, '/fee-rules', {
      tenantId: CITY,
      service: 'TL',
      rule: { currency: 'INR', lines: [{ kind: 'slab', taxHead: 'TL_FEE', field: 'a', slabs: [{ upTo: 10, amount: 1 }, { upTo: 5, amount: 2 }] }, { kind: 'fixed', taxHead: 'NOPE', amount: 1 }] },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().errors.map((e: any) => e.path)).toEqual(['body.rule.lines.0.slabs.1.upTo', 'body.rule.lines.1.taxHead']);
    const floaty = await post(cashier, '/fee-rules', { tenantId: CITY, service: 'TL', rule: { currency: 'INR', lines: [{ kind: 'fixed', taxHead: 'TL_FEE', amount: 10.5 }] } });
    expect(floaty.statusCode).toBe(400);
    expect(floaty.json().errors[0].path).toBe('body.rule.lines.0.amount');
  });
});

describe('bills', () => {
  it('expires a bill and regenerates it with the penalty of the new moment', async () => {
    const d = await demand(350, '2026-01-12T00:00:00Z');
    expect(d).toMatchObject({ base: 220_000, total: 220_000, status: 'active', currency: 'INR' });
    const first = await bill(d.id);
    expect(first).toMatchObject({ total: 220_000, status: 'active' });
    // Valid 24 hours, and the same bill while it holds.
    expect(first.expiresAt).toBe('2026-01-11T06:00:00.000Z');
    expect((await bill(d.id)).id).toBe(first.id);
    // Past the due time: the old bill has expired; the new one carries 2 % for the first month.
    advance(3 * DAY);
    expect((await get(cashier, `/bills/${first.id}`)).json().status).toBe('expired');
    expect((await pay(first.id, 220_000, 'expired-bill-1')).json()).toMatchObject({ code: 'BILLING_BILL_EXPIRED' });
    const second = await bill(d.id);
    expect(second.id).not.toBe(first.id);
    expect(second.lines).toEqual([
      { taxHead: 'TL_LATE_PENALTY', category: 'penalty', source: 'penalty', amount: 4_400 },
      { taxHead: 'TL_FEE', category: 'fee', source: 'fee', amount: 150_000 },
      { taxHead: 'TL_ADHOC_TAX', category: 'tax', source: 'fee', amount: 70_000 },
    ]);
    expect(second.total).toBe(224_400);
    // A month later the penalty doubles, and the bill made before expires at that step.
    advance(30 * DAY);
    const third = await bill(d.id);
    expect(third.lines[0]).toMatchObject({ taxHead: 'TL_LATE_PENALTY', amount: 8_800 });
    const paid = await pay(third.id, third.total, 'late-payment-1');
    expect(paid.statusCode, paid.body).toBe(201);
    const after = (await get(cashier, `/demands/${d.id}`)).json();
    expect(after).toMatchObject({ status: 'paid', total: 228_800, collected: 228_800, outstanding: 0 });
    expect(after.lines.find((l: any) => l.source === 'penalty')).toMatchObject({ amount: 8_800, collected: 8_800 });
  });

  it('gives the early rebate only on a full payment before the cut-off', async () => {
    const d = await demand(80, new Date(now.getTime() + 40 * DAY).toISOString());
    const b = await bill(d.id);
    expect(b.lines.at(-1)).toMatchObject({ source: 'rebate', amount: -3_300 });
    expect(b.total).toBe(62_700);
    // Ten days before the cut-off… expires there, not after 24 h, when the rebate ends on that day.
    const res = await pay(b.id, 62_700, 'rebate-1');
    expect(res.statusCode, res.body).toBe(201);
    expect((await get(cashier, `/demands/${d.id}`)).json()).toMatchObject({ status: 'paid', total: 62_700, collected: 62_700 });
  });

  it('generates bills for a batch of demands, page by page, skipping those with a bill that holds', async () => {
    const res = await post(cashier, '/bills/batch', { tenantId: CITY, service: 'TL', limit: 2 });
    expect(res.statusCode, res.body).toBe(200);
    let total = res.json().generated + res.json().skipped;
    let cursor = res.json().nextCursor;
    while (cursor) {
      const page = (await post(cashier, '/bills/batch', { tenantId: CITY, service: 'TL', limit: 2, after: cursor })).json();
      total += page.generated + page.skipped;
      cursor = page.nextCursor;
    }
    const again = (await post(cashier, '/bills/batch', { tenantId: CITY, service: 'TL', limit: 100 })).json();
    expect(again.generated).toBe(0);
    expect(again.skipped).toBe(total);
  });
});

describe('counter payments', () => {
  it('takes a partial payment where the rule allows it, then the rest', async () => {
    const rule = { currency: 'INR', lines: [{ kind: 'fixed', taxHead: 'TL_FEE', amount: 100_000 }], allowPartial: true, minimumPartial: 10_000 };
    expect((await post(cashier, '/fee-rules', { tenantId: CITY, service: 'TL', rule })).statusCode).toBe(201);
    const d = await demand(1, '2026-12-31T00:00:00Z');
    const b = await bill(d.id);
    expect(b).toMatchObject({ total: 100_000, minimumPayable: 10_000 });
    expect((await pay(b.id, 5_000, 'partial-too-small')).json()).toMatchObject({ code: 'BILLING_AMOUNT_INVALID', errors: [{ path: 'body.amount' }] });
    const first = await pay(b.id, 30_000, 'partial-1');
    expect(first.statusCode, first.body).toBe(201);
    expect((await get(cashier, `/demands/${d.id}`)).json()).toMatchObject({ status: 'active', collected: 30_000, outstanding: 70_000 });
    const rest = await bill(d.id);
    expect(rest.total).toBe(70_000);
    expect((await pay(rest.id, 70_000, 'partial-2')).statusCode).toBe(201);
    expect((await get(cashier, `/demands/${d.id}`)).json()).toMatchObject({ status: 'paid', collected: 100_000 });
  });

  it('refuses a partial payment where the rule does not allow it', async () => {
    const rule = (await get(cashier, `/fee-rules/TL?tenant=${CITY}`)).json().rule;
    expect((await post(cashier, '/fee-rules', { tenantId: CITY, service: 'TL', rule: { ...rule, allowPartial: false } })).statusCode).toBe(201);
    const d = await demand(1, '2026-12-31T00:00:00Z');
    const b = await bill(d.id);
    const res = await pay(b.id, 50_000, 'no-partial-1');
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'BILLING_PARTIAL_NOT_ALLOWED', errors: [{ path: 'body.amount' }] });
  });

  it('counts a retried payment once and refuses the key for another payment', async () => {
    const d = await demand(1, '2026-12-31T00:00:00Z');
    const b = await bill(d.id);
    const results = await Promise.all([1, 2, 3].map(() => pay(b.id, 100_000, 'retry-key-1', { mode: 'cheque', instrument: { number: '004512', bank: 'SBI', date: '2026-02-01' } })));
    expect(results.map((r) => r.statusCode)).toEqual([201, 201, 201]);
    expect(new Set(results.map((r) => r.json().id)).size).toBe(1);
    expect((await get(cashier, `/demands/${d.id}`)).json()).toMatchObject({ status: 'paid', collected: 100_000 });
    const d2 = await demand(1, '2026-12-31T00:00:00Z');
    const b2 = await bill(d2.id);
    expect((await pay(b2.id, 100_000, 'retry-key-1')).json()).toMatchObject({ code: 'BILLING_IDEMPOTENCY_CONFLICT' });
    expect((await pay(b2.id, 100_000, 'cheque-no-bank', { mode: 'cheque', instrument: { number: '1' } })).json()).toMatchObject({ errors: [{ path: 'body.instrument.bank' }] });
  });

  it('records one payment of a bill that several cashiers pay at once; the others get 409 and write nothing', async () => {
    const d = await demand(1, '2026-12-31T00:00:00Z');
    const b = await bill(d.id);
    const cashiers = [cashier, cashier2, cashier, cashier2, cashier];
    const results = await Promise.all(cashiers.map((h, i) => post(h, '/payments/counter', { tenantId: CITY, billId: b.id, amount: b.total, mode: 'cash', idempotencyKey: `race-${d.id}-${i}` })));
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409, 409]);
    for (const r of results.filter((r) => r.statusCode === 409)) expect(r.json()).toMatchObject({ code: 'BILLING_BILL_NOT_PAYABLE' });
    expect((await get(cashier, `/demands/${d.id}`)).json()).toMatchObject({ status: 'paid', total: b.total, collected: b.total, outstanding: 0 });
    const db = t.runtime.database.db;
    const payments = await db.selectFrom('billing.payments' as any).select('id').where('demand_id', '=', d.id).execute();
    expect(payments).toHaveLength(1);
    const allocated = await db.selectFrom('billing.allocations' as any).select((eb: any) => eb.fn.sum('amount').as('sum')).where('payment_id', '=', payments[0]!.id).executeTakeFirstOrThrow();
    expect(Number((allocated as any).sum)).toBe(b.total);
    const events = await db.selectFrom('kernel.outbox' as any).select('id').where('name', '=', 'billing.payment.completed').where(sql`payload->>'demandId'`, '=', d.id).execute();
    const audit = await db.selectFrom('kernel.audit_log' as any).select('id').where('action', '=', 'billing.payment.completed').where('entity_id', '=', payments[0]!.id).execute();
    expect([events.length, audit.length]).toEqual([1, 1]);
  });

  it('answers a retried payment with the first receipt, and draws no number for the retry', async () => {
    const [d1, d2] = [await demand(1, '2026-12-31T00:00:00Z'), await demand(1, '2026-12-31T00:00:00Z')];
    const [b1, b2] = [await bill(d1.id), await bill(d2.id)];
    const first = await pay(b1.id, b1.total, `retry-${d1.id}`);
    expect(first.statusCode, first.body).toBe(201);
    const again = await pay(b1.id, b1.total, `retry-${d1.id}`);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    const next = (await pay(b2.id, b2.total, `retry-${d2.id}`)).json();
    const number = (receipt: string) => Number(receipt.slice(-8));
    expect(number(next.receiptNo)).toBe(number(first.json().receiptNo) + 1);
    expect((await get(cashier, `/demands/${d1.id}`)).json()).toMatchObject({ collected: b1.total });
  });

  it('writes nothing of a payment whose demand changed after it was read, and records it when read again', async () => {
    const d = await demand(1, '2026-12-31T00:00:00Z');
    const b = await bill(d.id);
    const ctx = t.runtime.contextFor('billing', { ...systemActor('test'), id: 'usr_cashier' });
    const db = t.runtime.database.db;
    const read = (await readBillForPayment(ctx.db, b.id))!;
    const plan = planPayment(read.demand, { bill: read.bill, amount: b.total, mode: 'cash', instrument: {}, idempotencyKey: `stale-${d.id}`, receiptNo: `STALE-${d.id}` }, ctx.actor.id, now);
    // Another change to the demand commits between the read and the write.
    await db.updateTable('billing.demands' as any).set({ version: sql`version + 1` }).where('id', '=', d.id).execute();
    const lost = new Error('lost');
    const attempt = ctx.transaction((tx) => writePayment(tx, read.demand, plan, now, (q) => q.updateTable('bills').from('pay_demand').set({ status: 'paid', closed_at: now }).where('bills.id', '=', b.id).returning(['bills.id']), () => lost));
    await expect(attempt).rejects.toBe(lost);
    expect(await db.selectFrom('billing.payments' as any).select('id').where('demand_id', '=', d.id).execute()).toEqual([]);
    expect(await db.selectFrom('kernel.outbox' as any).select('id').where(sql`payload->>'paymentId'`, '=', plan.payment.id).execute()).toEqual([]);
    expect(await db.selectFrom('kernel.audit_log' as any).select('id').where('entity_id', '=', plan.payment.id).execute()).toEqual([]);
    expect((await get(cashier, `/bills/${b.id}`)).json().status).toBe('active');
    expect((await get(cashier, `/demands/${d.id}`)).json()).toMatchObject({ collected: 0, outstanding: b.total });
    // Read again, the same payment goes through.
    expect((await pay(b.id, b.total, `stale-${d.id}`)).statusCode).toBe(201);
    expect((await get(cashier, `/demands/${d.id}`)).json()).toMatchObject({ status: 'paid', collected: b.total });
  });

  it('refunds part of a payment with reversing entries, then refuses more than is left', async () => {
    const d = await demand(1, '2026-12-31T00:00:00Z');
    const b = await bill(d.id);
    const p = (await pay(b.id, 100_000, 'refund-me-1')).json();
    const refund = await post(cashier, `/payments/${p.id}/refunds`, { amount: 40_000, reason: 'Licence surrendered', idempotencyKey: 'refund-1-key' });
    expect(refund.statusCode, refund.body).toBe(200);
    expect(refund.json()).toMatchObject({ refunded: 40_000, status: 'completed' });
    // Retried: counted once.
    expect((await post(cashier, `/payments/${p.id}/refunds`, { amount: 40_000, reason: 'Licence surrendered', idempotencyKey: 'refund-1-key' })).json().refunded).toBe(40_000);
    expect((await get(cashier, `/demands/${d.id}`)).json()).toMatchObject({ status: 'active', collected: 60_000, outstanding: 40_000 });
    const tooMuch = await post(cashier, `/payments/${p.id}/refunds`, { amount: 60_001, reason: 'Too much', idempotencyKey: 'refund-2-key' });
    expect(tooMuch.json()).toMatchObject({ code: 'BILLING_REFUND_TOO_LARGE', errors: [{ path: 'body.amount', message: 'at most 60000' }] });
    const rows = await t.runtime.database.db.selectFrom('billing.allocations' as any).select(['kind', 'amount']).where('payment_id', '=', p.id).orderBy('amount').execute();
    expect(rows.map((r: any) => [r.kind, Number(r.amount)])).toEqual([['refund', -40_000], ['payment', 100_000]]);
  });

  it('cancels a counter payment, reverses it, closes the day and refuses payments after', async () => {
    const d = await demand(1, '2026-12-31T00:00:00Z');
    const b = await bill(d.id);
    const p = (await pay(b.id, 100_000, 'cancel-me-1')).json();
    const cancelled = await post(cashier, `/payments/${p.id}/cancel`, { reason: 'Cheque bounced' });
    expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
    expect((await get(cashier, `/demands/${d.id}`)).json()).toMatchObject({ status: 'active', collected: 0 });
    const report = (await get(cashier, `/counter/day-close?tenant=${CITY}`)).json();
    expect(report.cancelled).toEqual({ count: 1, amount: 100_000 });
    expect(report.currency.INR.find((m: any) => m.mode === 'cash').count).toBeGreaterThan(0);
    const closed = await post(cashier, '/counter/day-close', { tenantId: CITY });
    expect(closed.statusCode, closed.body).toBe(201);
    const fresh = await bill(d.id);
    expect((await pay(fresh.id, 100_000, 'after-close-1')).json()).toMatchObject({ code: 'BILLING_DAY_CLOSED' });
    expect((await post(cashier, '/counter/day-close', { tenantId: CITY })).json()).toMatchObject({ code: 'BILLING_DAY_CLOSED' });
  });
});

describe('receipts, waivers and scope', () => {
  it('numbers receipts by the reference format and renders data and PDF', async () => {
    advance(DAY);
    expect((await post(cashier, '/fee-rules', { tenantId: CITY, service: 'TL', rule: DEMO_FEE_RULE })).statusCode).toBe(201);
    const d = await demand(350, '2026-12-31T00:00:00Z');
    const b = await bill(d.id);
    const p = (await pay(b.id, b.total, 'receipt-1')).json();
    expect(p.receiptNo).toMatch(/^RCPT-BENGALURU-\d{2}-\d{2}-\d{8}$/);
    const r = (await get(cashier, `/payments/${p.id}/receipt`)).json();
    expect(r).toMatchObject({ receiptNo: p.receiptNo, amount: b.total, amountText: `INR ${(b.total / 100).toLocaleString('en')}.00` });
    expect(r.lines.map((l: any) => [l.taxHead, l.glCode])).toEqual([['TL_ADHOC_TAX', '1402-002'], ['TL_EARLY_REBATE', '1402-095'], ['TL_FEE', '1402-001']].filter(([h]) => r.lines.some((l: any) => l.taxHead === h)));
    const pdf = await t.runtime.http.inject({ url: `${API}/payments/${p.id}/receipt.pdf`, headers: cashier });
    expect(pdf.statusCode).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    expect((await t.runtime.http.inject({ url: `${API}/payments/${p.id}/receipt.pdf`, headers: other })).statusCode).toBe(404);
    expect((await t.runtime.http.inject({ url: `${API}/payments/${p.id}/receipt.pdf` })).statusCode).toBe(401);
  });

  it('waives a penalty with a reason, audited, and answers 404 to another tenant', async () => {
    const d = await demand(1, new Date(now.getTime() - 2 * DAY).toISOString());
    const b = await bill(d.id);
    expect(b.lines[0]).toMatchObject({ source: 'penalty' });
    const partial = await pay(b.id, b.total, 'waive-pay-1');
    expect(partial.statusCode).toBe(201);
    const refund = await post(cashier, `/payments/${partial.json().id}/refunds`, { amount: b.lines[0].amount, reason: 'penalty to be waived', idempotencyKey: 'waive-refund-1' });
    expect(refund.statusCode).toBe(200);
    const current = (await get(cashier, `/demands/${d.id}`)).json();
    const waiver = await post(cashier, `/demands/${d.id}/adjustments`, { version: current.version, kind: 'waiver', lines: [{ taxHead: 'TL_LATE_PENALTY', delta: -b.lines[0].amount }], reason: 'Flood relief order 12/2026' });
    expect(waiver.statusCode, waiver.body).toBe(200);
    expect(waiver.json()).toMatchObject({ status: 'paid', outstanding: 0 });
    // Not levied again on the next bill.
    expect((await post(cashier, '/bills', { tenantId: CITY, demandId: d.id })).json()).toMatchObject({ code: 'BILLING_DEMAND_CLOSED' });
    expect((await get(other, `/demands/${d.id}`)).statusCode).toBe(404);
    expect((await post(other, `/demands/${d.id}/adjustments`, { version: 1, kind: 'waiver', lines: [{ taxHead: 'TL_FEE', delta: -1 }], reason: 'sneaky' })).statusCode).toBe(404);
    const audit = await t.runtime.database.db.selectFrom('kernel.audit_log' as any).select(['action', 'data']).where('entity_id', '=', d.id).execute();
    expect(audit.map((a: any) => a.action)).toEqual(expect.arrayContaining(['billing.demand.created', 'billing.demand.waived']));
    expect(await verifyAuditChain(t.runtime.database.db as any)).toMatchObject({ ok: true });
  });
});
