import { createHash } from 'node:crypto';
import { defineOperation, newId, sql, z, type OperationContext, type TxContext } from '../../kernel/index.js';
import { num, type BillingState } from './billing-state.js';
import { paymentView } from './apply-payment.js';
import { billingId, cancelActiveBill, loadDemand, refreshDemand } from './demands.js';
import { BillingErrors } from './errors.js';
import { positiveAmount } from './money.js';
import { gatewayOf } from './online-payments.js';
import { idempotencyKey, loadPayment, paymentOut, utcDay } from './payments.js';
import { P } from './permissions.js';

/**
 * Reverses up to `amount` of a payment: first what it left unallocated, then its allocations,
 * latest first, each by a negative allocation row of `kind`. A whole reversal also gives back a
 * rebate the payment took (the rebate line drops to 0). Returns what came off the demand.
 */
async function reverse(tx: TxContext, payment: any, amount: number, kind: 'refund' | 'cancellation', ref: string, now: Date): Promise<number> {
  let left = amount;
  const fromUnallocated = Math.min(left, num(payment.unallocated) - Math.min(num(payment.unallocated), num(payment.refunded)));
  left -= Math.max(0, fromUnallocated);
  const net = await tx.db
    .selectFrom('allocations as a')
    .innerJoin('demand_lines as l', 'l.id', 'a.line_id')
    .select(['a.line_id as line_id', 'l.source as source', 'l.seq as seq'])
    .select((eb) => eb.fn.sum('a.amount').as('net'))
    .where('a.payment_id', '=', payment.id)
    .groupBy(['a.line_id', 'l.source', 'l.seq'])
    .orderBy('l.seq', 'desc')
    .execute();
  const whole = amount === num(payment.amount) - num(payment.refunded);
  const rows: Array<{ line_id: string; amount: number }> = [];
  for (const n of net as any[]) {
    const have = num(n.net);
    if (n.source === 'rebate') {
      if (whole && have !== 0) {
        rows.push({ line_id: n.line_id, amount: -have });
        await tx.db.updateTable('demand_lines').set({ amount: 0, collected: 0 }).where('id', '=', n.line_id).execute();
      }
      continue;
    }
    if (left <= 0 || have <= 0) continue;
    const take = Math.min(have, left);
    left -= take;
    rows.push({ line_id: n.line_id, amount: -take });
    await tx.db.updateTable('demand_lines').set({ collected: sql`collected - ${take}` }).where('id', '=', n.line_id).execute();
  }
  if (rows.length > 0) {
    await tx.db.insertInto('allocations').values(rows.map((r) => ({ id: newId('alc'), tenant_id: payment.tenant_id, payment_id: payment.id, line_id: r.line_id, kind, amount: r.amount, ref, at: now }))).execute();
  }
  return rows.reduce((s, r) => s - r.amount, 0);
}

async function lockForReversal(ctx: OperationContext, tx: TxContext, id: string) {
  const head = await loadPayment(ctx, tx.db, id);
  // Demand first, then payment: the order every payment path takes, so none deadlock.
  const demand = await loadDemand(ctx, tx.db, head.demand_id, true);
  const payment = await loadPayment(ctx, tx.db, id, true);
  return { demand, payment };
}

export function refundOperations(state: BillingState) {
  return {
    refundPayment: defineOperation({
      summary: 'Refund part or all of a payment, with a reason (online: through the gateway); reversing entries put the amount back on the demand',
      permission: P.refund,
      http: { method: 'POST', path: '/payments/:id/refunds', status: 200 },
      input: z.object({ id: billingId, amount: positiveAmount, reason: z.string().trim().min(3).max(1000), idempotencyKey }),
      output: paymentOut,
      async handler(ctx, input) {
        const now = state.now();
        const refundId = `rfd_${createHash('sha256').update(`${input.id}|${input.idempotencyKey}`).digest('hex').slice(0, 26)}`;
        const seen = await ctx.db.selectFrom('refunds').select('id').where('id', '=', refundId).executeTakeFirst();
        if (seen) return paymentView(await loadPayment(ctx, ctx.db, input.id));
        const before = await loadPayment(ctx, ctx.db, input.id);
        if (before.status !== 'completed') throw BillingErrors.paymentNotRefundable(before.status);
        const left = num(before.amount) - num(before.refunded);
        if (input.amount > left) throw BillingErrors.refundTooLarge(left);
        let gatewayRef: string | null = null;
        if (before.mode === 'online') {
          const order = await ctx.db.selectFrom('gateway_orders').select('gateway_ref').where('id', '=', before.order_id).executeTakeFirstOrThrow();
          gatewayRef = (await gatewayOf(state, ctx).refund(order.gateway_ref!, { refundId, amount: input.amount })).refundRef;
        }
        const payment = await ctx.transaction(async (tx) => {
          const { demand, payment } = await lockForReversal(ctx, tx, input.id);
          if (payment.status !== 'completed') throw BillingErrors.paymentNotRefundable(payment.status);
          const stillLeft = num(payment.amount) - num(payment.refunded);
          if (input.amount > stillLeft) throw BillingErrors.refundTooLarge(stillLeft);
          const reversed = await reverse(tx, payment, input.amount, 'refund', refundId, now);
          await tx.db.insertInto('refunds').values({ id: refundId, tenant_id: payment.tenant_id, payment_id: payment.id, amount: input.amount, reason: input.reason, gateway_ref: gatewayRef, created_by: ctx.actor.id, created_at: now }).execute();
          const updated = await tx.db.updateTable('payments').set({ refunded: sql`refunded + ${input.amount}` }).where('id', '=', payment.id).returningAll().executeTakeFirstOrThrow();
          if (reversed > 0) await cancelActiveBill(tx, demand.id, now);
          const after = await refreshDemand(tx, demand.id, now);
          const facts = { paymentId: payment.id, refundId, amount: input.amount, currency: payment.currency, reversed, demandId: demand.id, demandStatus: after.status, mode: payment.mode };
          await tx.emit({ name: 'billing.payment.refunded', tenantId: payment.tenant_id, payload: facts });
          await tx.audit({ action: 'billing.payment.refunded', entityType: 'billing_payment', entityId: payment.id, tenantId: payment.tenant_id, data: { ...facts, reason: input.reason, gatewayRef } });
          return updated;
        });
        return paymentView(payment);
      },
    }),

    cancelPayment: defineOperation({
      summary: 'Cancel a counter payment (a bounced cheque, a wrong entry) before its day is closed, with a reason; every allocation is reversed',
      permission: P.paymentCancel,
      http: { method: 'POST', path: '/payments/:id/cancel', status: 200 },
      input: z.object({ id: billingId, reason: z.string().trim().min(3).max(1000) }),
      output: paymentOut,
      async handler(ctx, input) {
        const now = state.now();
        const payment = await ctx.transaction(async (tx) => {
          const { demand, payment } = await lockForReversal(ctx, tx, input.id);
          if (payment.status !== 'completed') throw BillingErrors.paymentNotCancellable(`the payment is ${payment.status}`);
          if (payment.mode === 'online') throw BillingErrors.paymentNotCancellable('an online payment is refunded, not cancelled');
          if (num(payment.refunded) > 0) throw BillingErrors.paymentNotCancellable('the payment was partly refunded');
          const closed = await tx.db.selectFrom('day_closes').select('id').where('tenant_id', '=', payment.tenant_id).where('cashier_id', '=', payment.collected_by).where('day', '=', payment.counter_day).executeTakeFirst();
          if (closed) throw BillingErrors.dayClosed(payment.counter_day ?? utcDay(now));
          const reversed = await reverse(tx, { ...payment, refunded: 0 }, num(payment.amount), 'cancellation', `cancel:${payment.id}`, now);
          const updated = await tx.db.updateTable('payments').set({ status: 'cancelled', cancelled_at: now, cancel_reason: input.reason }).where('id', '=', payment.id).returningAll().executeTakeFirstOrThrow();
          await cancelActiveBill(tx, demand.id, now);
          const after = await refreshDemand(tx, demand.id, now);
          const facts = { paymentId: payment.id, receiptNo: payment.receipt_no, amount: num(payment.amount), currency: payment.currency, reversed, demandId: demand.id, demandStatus: after.status };
          await tx.emit({ name: 'billing.payment.cancelled', tenantId: payment.tenant_id, payload: facts });
          await tx.audit({ action: 'billing.payment.cancelled', entityType: 'billing_payment', entityId: payment.id, tenantId: payment.tenant_id, data: { ...facts, reason: input.reason } });
          return updated;
        });
        return paymentView(payment);
      },
    }),
  };
}
