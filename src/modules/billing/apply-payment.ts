import { newId, sql, type OperationContext, type TxContext } from '../../kernel/index.js';
import { fromJson, iso, isoOrNull, num, systemContext, type BillingState } from './billing-state.js';
import type { BillLine } from './bills.js';
import { linesOf, refreshDemand } from './demands.js';
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
  /** Drawn by the caller before its transaction; drawn here, inside it, when absent. */
  receiptNo?: string;
}

/** The tenant's next receipt number (reference's `billing.receipt` format). */
export async function drawReceiptNumber(state: BillingState, ctx: OperationContext, tenantId: string): Promise<string> {
  const { ids } = await systemContext(state, ctx, 'receipts').call<{ ids: string[] }>('reference', 'generateIds', { tenantId, format: RECEIPT_FORMAT, count: 1 });
  return ids[0]!;
}

/** Apportioning order: penalties and interest first, then fees and taxes as demanded. */
const rank = (line: any) => (line.source === 'penalty' || line.category === 'interest' ? 0 : 1);

/**
 * The payment `request.idempotencyKey` names, if one was recorded: the same request gives the
 * same payment back; the key with a different bill, amount or mode is a conflict.
 */
export async function priorPayment(db: OperationContext['db'], tenantId: string, request: Pick<PaymentRequest, 'bill' | 'amount' | 'mode' | 'idempotencyKey'>): Promise<any | undefined> {
  const prior = await db.selectFrom('payments').selectAll().where('tenant_id', '=', tenantId).where('idempotency_key', '=', request.idempotencyKey).executeTakeFirst();
  if (!prior) return undefined;
  if (prior.bill_id !== request.bill.id || num(prior.amount) !== request.amount || prior.mode !== request.mode) throw BillingErrors.idempotencyConflict();
  return prior;
}

/**
 * Records one payment of a bill inside the caller's transaction, the demand row locked: levies the
 * bill's new penalty, takes the rebate when the bill is paid in full, apportions the amount over
 * the demand's lines (allocation rows), closes the bill, numbers the receipt, and writes the
 * event and the audit entry. Money beyond what is due stays on the payment as `unallocated`.
 */
export async function applyPayment(state: BillingState, ctx: OperationContext, tx: TxContext, demand: any, request: PaymentRequest): Promise<any> {
  const now = state.now();
  const bill = request.bill;
  const billLines = fromJson<BillLine[]>(bill.lines);
  const fullPayment = request.amount >= num(bill.total);
  let seq = Number((await tx.db.selectFrom('demand_lines').select((eb) => eb.fn.max('seq').as('m')).where('demand_id', '=', demand.id).executeTakeFirst())?.m ?? 0);
  const paymentId = newId('pay');
  const allocations: Array<{ line_id: string; amount: number }> = [];
  let credit = 0;
  for (const l of billLines) {
    if (l.source === 'penalty' && l.toDate !== undefined) {
      // Levied once: what this bill saw owed to date, less what was levied since it was made.
      const levy = l.toDate - num(demand.penalty_levied);
      if (levy <= 0) continue;
      await tx.db.insertInto('demand_lines').values({ id: newId('dml'), demand_id: demand.id, tenant_id: demand.tenant_id, seq: ++seq, tax_head: l.taxHead, category: l.category, source: 'penalty', amount: levy, bill_id: bill.id }).execute();
      await tx.db.updateTable('demands').set({ penalty_levied: sql`penalty_levied + ${levy}` }).where('id', '=', demand.id).execute();
      demand.penalty_levied = num(demand.penalty_levied) + levy;
    }
    if (l.source === 'rebate' && fullPayment && num(demand.collected_amount) === 0) {
      const id = newId('dml');
      await tx.db.insertInto('demand_lines').values({ id, demand_id: demand.id, tenant_id: demand.tenant_id, seq: ++seq, tax_head: l.taxHead, category: 'rebate', source: 'rebate', amount: l.amount, collected: l.amount, bill_id: bill.id }).execute();
      allocations.push({ line_id: id, amount: l.amount });
      credit = -l.amount;
    }
  }
  const lines = (await linesOf(tx.db, demand.id, true)).filter((l) => num(l.amount) - num(l.collected) > 0);
  lines.sort((a, b) => rank(a) - rank(b) || a.seq - b.seq);
  let remaining = request.amount + credit;
  for (const line of lines) {
    if (remaining <= 0) break;
    const take = Math.min(num(line.amount) - num(line.collected), remaining);
    remaining -= take;
    allocations.push({ line_id: line.id, amount: take });
    await tx.db.updateTable('demand_lines').set({ collected: sql`collected + ${take}` }).where('id', '=', line.id).execute();
  }
  const unallocated = Math.max(0, remaining);
  const receiptNo = request.receiptNo ?? (await drawReceiptNumber(state, ctx, demand.tenant_id));
  const payment = await tx.db
    .insertInto('payments')
    .values({
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
      unallocated,
      status: 'completed',
      receipt_no: receiptNo,
      idempotency_key: request.idempotencyKey,
      order_id: request.orderId ?? null,
      payer_id: request.payerId ?? demand.payer_id ?? null,
      collected_by: ctx.actor.id,
      counter_day: request.counterDay ?? null,
      created_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  if (allocations.length > 0) {
    await tx.db
      .insertInto('allocations')
      .values(allocations.map((a) => ({ id: newId('alc'), tenant_id: demand.tenant_id, payment_id: paymentId, line_id: a.line_id, kind: 'payment', amount: a.amount, ref: null, at: now })))
      .execute();
  }
  await tx.db.updateTable('bills').set({ status: 'paid', closed_at: now }).where('id', '=', bill.id).where('status', '=', 'active').execute();
  const after = await refreshDemand(tx, demand.id, now);
  const facts = {
    paymentId,
    receiptNo: payment.receipt_no,
    demandId: demand.id,
    billId: bill.id,
    service: demand.service,
    consumerCode: demand.consumer_code,
    amount: request.amount,
    currency: demand.currency,
    mode: request.mode,
    unallocated,
    demandStatus: after.status,
    outstanding: num(after.total_amount) - num(after.collected_amount),
  };
  await tx.emit({ name: 'billing.payment.completed', tenantId: demand.tenant_id, payload: facts });
  await tx.audit({ action: 'billing.payment.completed', entityType: 'billing_payment', entityId: paymentId, tenantId: demand.tenant_id, data: { ...facts, orderId: request.orderId ?? null } });
  return payment;
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
