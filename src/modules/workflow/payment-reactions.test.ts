import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor, type OperationContext } from '../../kernel/index.js';
import { CITY, setUpBilling } from '../../../test/support/billing-setup.js';
import { eventually, startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { billingModuleWith } from '../billing/index.js';
import { identityModule } from '../identity/index.js';
import { referenceModuleWith } from '../reference/index.js';
import { workflowModuleWith } from './index.js';

/** Apply, pay the fee (the platform moves it on once nothing is outstanding), then approve. */
const LICENCE = {
  code: 'TL',
  name: 'Trade licence',
  states: [
    { name: 'APPLIED', start: true },
    { name: 'PENDING_PAYMENT' },
    { name: 'PENDING_APPROVAL', sla: 'P3D' },
    { name: 'APPROVED', terminal: true },
  ],
  actions: [
    { name: 'VERIFY', from: ['APPLIED'], to: 'PENDING_PAYMENT', roles: ['CLERK'] },
    { name: 'PAY', from: ['PENDING_PAYMENT'], to: 'PENDING_APPROVAL', roles: ['SYSTEM'], on: { event: 'billing.payment.completed', when: { '==': [{ var: 'outstanding' }, 0] } } },
    { name: 'APPROVE', from: ['PENDING_APPROVAL'], to: 'APPROVED', roles: ['CLERK'] },
  ],
};

let t: TestRuntime;
let wf: OperationContext;
let cashier: Record<string, string>;
let seq = 0;

async function applied(businessId: string) {
  const p = await wf.call<{ id: string; version: number }>('workflow', 'startProcess', { tenantId: CITY, service: 'TL', businessId });
  return wf.call<{ id: string; state: string; version: number }>('workflow', 'takeAction', { id: p.id, action: 'VERIFY', version: p.version });
}
const billing = (url: string, payload: object) => t.runtime.http.inject({ method: 'POST', url: `/api/billing/v1${url}`, headers: cashier, payload });
/** A bill of the demand, and paying it at the counter. */
async function billOf(demandId: string) {
  const bill = await billing('/bills', { tenantId: CITY, demandId });
  expect(bill.statusCode, bill.body).toBe(200);
  return { demandId, bill: bill.json(), pay: (amount: number) => billing('/payments/counter', { tenantId: CITY, billId: bill.json().id, amount, mode: 'cash', idempotencyKey: `reaction-${++seq}` }) };
}
async function billFor(consumerCode: string) {
  const demand = await billing('/demands', { tenantId: CITY, service: 'TL', consumerCode, periodFrom: '2025-04-01', periodTo: '2026-03-31', dueAt: '2026-12-31T00:00:00Z', data: { tradeArea: 1 } });
  expect(demand.statusCode, demand.body).toBe(201);
  return billOf(demand.json().id);
}
const processOf = (id: string) => wf.call<{ state: string; version: number; record: Record<string, any> }>('workflow', 'getProcess', { id });

beforeAll(async () => {
  t = await startTestRuntime([identityModule, referenceModuleWith(), billingModuleWith({ scheduledReconcile: false }), workflowModuleWith({ scheduledSweep: false })]);
  await setUpBilling(t);
  // Partial payments allowed, so that one can leave something outstanding.
  const billing = t.runtime.contextFor('billing', systemActor('test'));
  await billing.call('billing', 'defineFeeRule', { tenantId: CITY, service: 'TL', rule: { currency: 'INR', lines: [{ kind: 'fixed', taxHead: 'TL_FEE', amount: 100_000 }], allowPartial: true, minimumPartial: 10_000 } });
  wf = t.runtime.contextFor('workflow', systemActor('test'));
  await wf.call('workflow', 'defineWorkflow', { tenantId: 'in', definition: LICENCE });
  cashier = await t.as({ id: 'usr_cashier', tenantId: CITY, permissions: ['billing.*'] });
}, 120_000);
afterAll(() => t?.close());

describe('a payment moves the record it pays for', () => {
  it('takes the declared action once the fee is paid in full, as the platform, with the payment in the record', async () => {
    const p = await applied('TL-PAID-1');
    expect(p.state).toBe('PENDING_PAYMENT');
    const { pay } = await billFor('TL-PAID-1');
    const paid = await pay(100_000);
    expect(paid.statusCode, paid.body).toBe(201);
    const moved = await eventually(async () => {
      const now = await processOf(p.id);
      return now.state === 'PENDING_APPROVAL' ? now : undefined;
    }, 'the process in PENDING_APPROVAL');
    expect(moved.record.payment).toMatchObject({ receiptNo: paid.json().receiptNo, amount: 100_000, outstanding: 0 });
    const history = await wf.call<{ items: Array<{ action: string; actorId: string; comment: string }> }>('workflow', 'processHistory', { id: p.id });
    const step = history.items.find((h) => h.action === 'PAY')!;
    expect(step.actorId).toMatch(/^system:consumer:workflow\.paymentReactions/);
    expect(step.comment).toBe(`payment ${paid.json().receiptNo}`);
  });

  it('waits while something is outstanding, and moves on the payment that clears it', async () => {
    const p = await applied('TL-PART-1');
    const first = await billFor('TL-PART-1');
    expect((await first.pay(30_000)).statusCode).toBe(201);
    // The part payment's event is handled (consumers run in order of the outbox) before this one's.
    const marker = await applied('TL-MARK-1');
    const { pay: payMarker } = await billFor('TL-MARK-1');
    expect((await payMarker(100_000)).statusCode).toBe(201);
    await eventually(async () => ((await processOf(marker.id)).state === 'PENDING_APPROVAL' ? true : undefined), 'the marker moved');
    expect((await processOf(p.id)).state).toBe('PENDING_PAYMENT');
    const rest = await billOf(first.demandId);
    expect(rest.bill.total).toBe(70_000);
    expect((await rest.pay(70_000)).statusCode).toBe(201);
    await eventually(async () => ((await processOf(p.id)).state === 'PENDING_APPROVAL' ? true : undefined), 'the process moved on the second payment');
  });

  it('leaves a record alone when its state declares no such action, and a payment with no process', async () => {
    const p = await wf.call<{ id: string; state: string; version: number }>('workflow', 'startProcess', { tenantId: CITY, service: 'TL', businessId: 'TL-EARLY-1' });
    const { pay } = await billFor('TL-EARLY-1');
    expect((await pay(100_000)).statusCode).toBe(201);
    const { pay: payNobody } = await billFor('TL-NOBODY-1');
    expect((await payNobody(100_000)).statusCode).toBe(201);
    const marker = await applied('TL-MARK-2');
    expect((await (await billFor('TL-MARK-2')).pay(100_000)).statusCode).toBe(201);
    await eventually(async () => ((await processOf(marker.id)).state === 'PENDING_APPROVAL' ? true : undefined), 'the marker moved');
    expect(await processOf(p.id)).toMatchObject({ state: 'APPLIED', version: p.version });
  });

  it('refuses a definition whose reaction condition is not a valid expression, naming it', async () => {
    const bad = { ...LICENCE, code: 'TL2', actions: LICENCE.actions.map((a) => (a.name === 'PAY' ? { ...a, on: { event: 'billing.payment.completed', when: { nope: [1] } } } : a)) };
    await expect(wf.call('workflow', 'defineWorkflow', { tenantId: 'in', definition: bad })).rejects.toMatchObject({ errors: [expect.objectContaining({ path: expect.stringContaining('actions.1.on.when') })] });
    const unknown = { ...LICENCE, code: 'TL3', actions: LICENCE.actions.map((a) => (a.name === 'PAY' ? { ...a, on: { event: 'billing.demand.created' } } : a)) };
    await expect(wf.call('workflow', 'defineWorkflow', { tenantId: 'in', definition: unknown })).rejects.toMatchObject({ status: 400 });
  });
});
