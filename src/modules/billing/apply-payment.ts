import { newId, sql, type OperationContext, type TxContext } from '../../kernel/index.js';
import { fromJson, iso, isoOrNull, num, systemContext, type BillingState } from './billing-state.js';
import type { BillLine } from './bills.js';
import { BillingErrors } from './errors.js';

export const RECEIPT_FORMAT = 'billing.receipt';
export type PaymentMode = 'online' | 'cash' | 'cheque' | 'card' | 'dd';

export interface PaymentRequest {
  bill: any;
  amount: number;
  mode: PaymentMode;
  instrument: Record<string, unknown>;
  idempotencyKey: string;
  orderId?: string;
  payerId?: string | null;
  counterDay?: string;
  receiptNo: string;
}

/**
 * A demand as a payment reads it: its row (`version` tells whether it changed since) and its
 * lines, read in the same statement as the bill.
 */
export interface DemandRead {
  id: string;
  tenant_id: string;
  service: string;
  consumer_code: string;
  currency: string;
  payer_id: string | null;
  status: string;
  version: number;
  penalty_levied: number | string;
  collected_amount: number | string;
  lines: any[];
}

/**
 * A bill with its demand and the demand's lines, in one statement (`undefined`: no such bill);
 * optionally with the payment an idempotency key names and whether a cashier's counter day is
 * closed, and with the demand row locked (inside a transaction).
 */
export async function readBillForPayment(
  db: OperationContext['db'],
  billId: string,
  options: { lock?: boolean; prior?: { tenantId: string; idempotencyKey: string }; dayClose?: { tenantId: string; cashierId: string; day: string } } = {},
): Promise<{ bill: any; demand: DemandRead; prior: any | null; dayClosed: boolean } | undefined> {
  const { prior, dayClose } = options;
  const { rows } = await sql<any>`
    select b.*, to_json(d) as seva_demand,
      (select coalesce(json_agg(l order by l.seq), '[]'::json) from billing.demand_lines l where l.demand_id = d.id) as seva_lines,
      ${prior ? sql`(select to_json(p) from billing.payments p where p.tenant_id = ${prior.tenantId} and p.idempotency_key = ${prior.idempotencyKey})` : sql`null::json`} as seva_prior,
      ${dayClose ? sql`exists (select 1 from billing.day_closes c where c.tenant_id = ${dayClose.tenantId} and c.cashier_id = ${dayClose.cashierId} and c.day = ${dayClose.day})` : sql`false`} as seva_day_closed
    from billing.bills b join billing.demands d on d.id = b.demand_id
    where b.id = ${billId}${options.lock ? sql` for update of d` : sql``}`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const { seva_demand, seva_lines, seva_prior, seva_day_closed, ...bill } = row;
  const demand = fromJson<any>(seva_demand);
  return { bill, demand: { ...demand, version: Number(demand.version), lines: fromJson<any[]>(seva_lines) }, prior: seva_prior ? fromJson(seva_prior) : null, dayClosed: Boolean(seva_day_closed) };
}

/** The tenant's next receipt number (reference's `billing.receipt` format). */
export async function drawReceiptNumber(state: BillingState, ctx: OperationContext, tenantId: string): Promise<string> {
  const { ids } = await systemContext(state, ctx, 'receipts').call<{ ids: string[] }>('reference', 'generateIds', { tenantId, format: RECEIPT_FORMAT, count: 1 });
  return ids[0]!;
}

/** Apportioning order: penalties and interest first, then fees and taxes as demanded. */
const rank = (line: any) => (line.source === 'penalty' || line.category === 'interest' ? 0 : 1);

/** The payment's idempotency key with a different bill, amount or mode is a conflict. */
export function samePayment(prior: any, request: Pick<PaymentRequest, 'bill' | 'amount' | 'mode'>): any {
  if (prior.bill_id !== request.bill.id || num(prior.amount) !== request.amount || prior.mode !== request.mode) throw BillingErrors.idempotencyConflict();
  return prior;
}

/**
 * Everything one payment writes, worked out from what was read: the bill's new penalty levied
 * (a new line), the rebate taken when the bill is paid in full before anything was collected (a
 * line collected at once), the amount apportioned over the lines (penalties first, then fees as
 * demanded), the demand's new totals and status, the payment row. Money beyond what is due stays
 * on the payment as `unallocated`. Pure: the writes are valid only while the demand is still at
 * the version read, which `writePayment` makes a condition of its one statement.
 */
export function planPayment(demand: DemandRead, request: PaymentRequest, actorId: string, now: Date) {
  const bill = request.bill;
  const fullPayment = request.amount >= num(bill.total);
  const lines = demand.lines.map((l) => ({ ...l, amount: num(l.amount), collected: num(l.collected), isNew: false }));
  let seq = lines.reduce((m, l) => Math.max(m, Number(l.seq)), 0);
  let penaltyLevied = num(demand.penalty_levied);
  const allocations: Array<{ line_id: string; amount: number }> = [];
  let credit = 0;
  for (const l of fromJson<BillLine[]>(bill.lines)) {
    if (l.source === 'penalty' && l.toDate !== undefined) {
      // Levied once: what this bill saw owed to date, less what was levied since it was made.
      const levy = l.toDate - penaltyLevied;
      if (levy <= 0) continue;
      lines.push({ id: newId('dml'), seq: ++seq, tax_head: l.taxHead, category: l.category, source: 'penalty', amount: levy, collected: 0, isNew: true });
      penaltyLevied += levy;
    }
    if (l.source === 'rebate' && fullPayment && num(demand.collected_amount) === 0) {
      const id = newId('dml');
      lines.push({ id, seq: ++seq, tax_head: l.taxHead, category: 'rebate', source: 'rebate', amount: l.amount, collected: l.amount, isNew: true });
      allocations.push({ line_id: id, amount: l.amount });
      credit = -l.amount;
    }
  }
  const takes: Record<string, number> = {};
  let remaining = request.amount + credit;
  for (const line of lines.filter((l) => l.amount - l.collected > 0).sort((a, b) => rank(a) - rank(b) || a.seq - b.seq)) {
    if (remaining <= 0) break;
    const take = Math.min(line.amount - line.collected, remaining);
    remaining -= take;
    line.collected += take;
    allocations.push({ line_id: line.id, amount: take });
    if (!line.isNew) takes[line.id] = take;
  }
  const total = lines.reduce((s, l) => s + l.amount, 0);
  const collected = lines.reduce((s, l) => s + l.collected, 0);
  const outstanding = lines.reduce((s, l) => s + (l.amount - l.collected), 0);
  const status = demand.status === 'cancelled' ? 'cancelled' : outstanding <= 0 ? 'paid' : 'active';
  const paymentId = newId('pay');
  const payment = {
    id: paymentId,
    tenant_id: demand.tenant_id,
    demand_id: demand.id,
    bill_id: bill.id,
    service: demand.service,
    consumer_code: demand.consumer_code,
    mode: request.mode,
    instrument: JSON.stringify(request.instrument),
    amount: request.amount,
    currency: demand.currency,
    unallocated: Math.max(0, remaining),
    status: 'completed',
    receipt_no: request.receiptNo,
    idempotency_key: request.idempotencyKey,
    order_id: request.orderId ?? null,
    payer_id: request.payerId ?? demand.payer_id ?? null,
    collected_by: actorId,
    counter_day: request.counterDay ?? null,
    created_at: now,
  };
  return {
    payment,
    newLines: lines.filter((l) => l.isNew).map((l) => ({ id: l.id, demand_id: demand.id, tenant_id: demand.tenant_id, seq: l.seq, tax_head: l.tax_head, category: l.category, source: l.source, amount: l.amount, collected: l.collected, bill_id: bill.id })),
    takes,
    allocations: allocations.map((a) => ({ id: newId('alc'), tenant_id: demand.tenant_id, payment_id: paymentId, line_id: a.line_id, kind: 'payment', amount: a.amount, ref: null, at: now })),
    demand: { total_amount: total, collected_amount: collected, status, penalty_levied: penaltyLevied, outstanding: status === 'cancelled' ? 0 : total - collected },
  };
}

export type PaymentPlan = ReturnType<typeof planPayment>;

/**
 * Writes a planned payment as the transaction's last statement (`tx.lastWrite`), all or nothing:
 * `pay_demand` updates the demand's totals and version only while it is at the version read (its
 * lines are then as read: every change to them bumps it, under the demand's row lock);
 * `pay_lines` adds the collected amounts; the new lines, the payment, its allocations,
 * `billing.payment.completed` and the audit entry go in as the same statement's inserts. `main`
 * is the statement's condition: a write that reads `pay_demand` (so the demand row is locked
 * before any other, the order every payment path takes) and must return a row; otherwise
 * nothing is written and `whenNoRow()` is thrown. Returns the payment row and `main`'s row.
 */
export async function writePayment(tx: TxContext, demand: DemandRead, plan: PaymentPlan, now: Date, main: (db: any) => any, whenNoRow: () => Error) {
  const { payment } = plan;
  for (const line of plan.newLines) tx.insertLater('demand_lines', line);
  tx.insertLater('payments', payment);
  for (const a of plan.allocations) tx.insertLater('allocations', a);
  const facts = {
    paymentId: payment.id,
    receiptNo: payment.receipt_no,
    demandId: demand.id,
    billId: payment.bill_id,
    service: demand.service,
    consumerCode: demand.consumer_code,
    amount: payment.amount,
    currency: demand.currency,
    mode: payment.mode,
    unallocated: payment.unallocated,
    demandStatus: plan.demand.status,
    outstanding: plan.demand.outstanding,
  };
  await tx.emit({ name: 'billing.payment.completed', tenantId: demand.tenant_id, payload: facts });
  await tx.audit({ action: 'billing.payment.completed', entityType: 'billing_payment', entityId: payment.id, tenantId: demand.tenant_id, data: { ...facts, orderId: payment.order_id } });
  const takes = JSON.stringify(plan.takes);
  const { outstanding: _, ...totals } = plan.demand;
  const db = tx.db
    .with('pay_demand', (db) =>
      db.updateTable('demands').set({ ...totals, version: sql`version + 1`, updated_at: now }).where('id', '=', demand.id).where('version', '=', demand.version).returning(['id']),
    )
    .with('pay_lines', (db) =>
      db
        .updateTable('demand_lines')
        .from('pay_demand')
        .set({ collected: sql`demand_lines.collected + (${takes}::jsonb ->> demand_lines.id)::bigint` })
        .whereRef('demand_lines.demand_id', '=', 'pay_demand.id')
        .where(sql<boolean>`(${takes}::jsonb ->> demand_lines.id) is not null`)
        .returning(['demand_lines.id']),
    );
  const [row] = await tx.lastWrite(main(db), whenNoRow);
  return { payment: { ...payment, refunded: 0, cancelled_at: null, cancel_reason: null }, row };
}

export function paymentView(p: any) {
  return {
    id: p.id,
    tenantId: p.tenant_id,
    demandId: p.demand_id,
    billId: p.bill_id,
    service: p.service,
    consumerCode: p.consumer_code,
    mode: p.mode,
    instrument: fromJson<Record<string, unknown>>(p.instrument),
    amount: num(p.amount),
    currency: p.currency,
    unallocated: num(p.unallocated),
    refunded: num(p.refunded),
    status: p.status,
    receiptNo: p.receipt_no,
    orderId: p.order_id ?? null,
    collectedBy: p.collected_by,
    counterDay: p.counter_day ?? null,
    createdAt: iso(p.created_at),
    cancelledAt: isoOrNull(p.cancelled_at),
  };
}
