import { defineOperation, newId, tenantCode, z, type OperationContext, type TxContext } from '../../kernel/index.js';
import { iso, num, visibleTo, type BillingState } from './billing-state.js';
import { drawReceiptNumber, planPayment, readBillForPayment, writePayment } from './apply-payment.js';
import { billingId, loadDemand } from './demands.js';
import { BillingErrors } from './errors.js';
import type { GatewayOutcome, PaymentGateway } from './gateway/adapter.js';
import { HttpGateway } from './gateway/http-gateway.js';
import { positiveAmount } from './money.js';
import { checkAmount } from './payments.js';
import { P } from './permissions.js';

export const CALLBACK_PATH = '/api/billing/v1/gateway/callback';
export const WEBHOOK_PATH = '/api/billing/v1/gateway/webhook';

export const orderOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  billId: z.string(),
  demandId: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  status: z.enum(['created', 'paid', 'failed', 'expired']),
  redirectUrl: z.string().nullable(),
  paymentId: z.string().nullable(),
  settledVia: z.string().nullable(),
  createdAt: z.string(),
});
export const orderView = (o: any) => ({
  id: o.id,
  tenantId: o.tenant_id,
  billId: o.bill_id,
  demandId: o.demand_id,
  amount: num(o.amount),
  currency: o.currency,
  status: o.status,
  redirectUrl: o.redirect_url ?? null,
  paymentId: o.payment_id ?? null,
  settledVia: o.settled_via ?? null,
  createdAt: iso(o.created_at),
});

export function gatewayOf(state: BillingState, ctx: OperationContext): PaymentGateway {
  if (state.gateway) return state.gateway;
  const { paymentGatewayUrl: url, paymentGatewayKey: apiKey, paymentGatewayWebhookSecret: secret } = ctx.config;
  if (!url || !apiKey || !secret) throw BillingErrors.gatewayNotConfigured();
  state.gateway = new HttpGateway({ url, apiKey, secret });
  return state.gateway;
}

/**
 * Applies a gateway's word on an order exactly once, whichever comes first (redirect, webhook,
 * reconciliation): the order row is locked and only a `created` order changes; later words
 * return the order as it is. The amount and currency must be the order's.
 */
export async function settleOrder(state: BillingState, ctx: OperationContext, tx: TxContext, outcome: GatewayOutcome, via: 'callback' | 'webhook' | 'reconcile'): Promise<any> {
  const order = await tx.db.selectFrom('gateway_orders').selectAll().where('id', '=', outcome.orderId).forUpdate().executeTakeFirst();
  if (!order) throw BillingErrors.notFound('order');
  if (order.status !== 'created') return order;
  if (order.gateway_ref && order.gateway_ref !== outcome.gatewayRef) throw BillingErrors.orderMismatch('another gateway reference');
  const now = state.now();
  if (outcome.status === 'failed') {
    const failed = await tx.db.updateTable('gateway_orders').set({ status: 'failed', failure: 'declined at the gateway', settled_via: via, updated_at: now }).where('id', '=', order.id).returningAll().executeTakeFirstOrThrow();
    await tx.audit({ action: 'billing.order.failed', entityType: 'billing_order', entityId: order.id, tenantId: order.tenant_id, data: { via, gatewayRef: outcome.gatewayRef } });
    return failed;
  }
  if (outcome.amount !== num(order.amount) || (outcome.currency && outcome.currency !== order.currency)) throw BillingErrors.orderMismatch('amount or currency differs');
  const read = (await readBillForPayment(tx.db, order.bill_id, { lock: true }))!;
  // Drawn inside the settling transaction, under the order's lock: a word delivered three times
  // costs one number.
  const receiptNo = await drawReceiptNumber(state, ctx, order.tenant_id);
  // The money was taken when the order was made against a valid bill: it counts even if the bill has expired since.
  const request = { bill: read.bill, amount: num(order.amount), mode: 'online' as const, instrument: { gateway: order.gateway, gatewayRef: outcome.gatewayRef }, idempotencyKey: `order:${order.id}`, orderId: order.id, payerId: order.created_by, receiptNo };
  const plan = planPayment(read.demand, request, ctx.actor.id, now);
  // One statement: the payment's writes, the bill closed if it is still the one to pay, the order paid.
  const { row } = await writePayment(tx, read.demand, plan, now, (db) =>
    db
      .with('pay_bill', (db: any) => db.updateTable('bills').from('pay_demand').set({ status: 'paid', closed_at: now }).where('bills.id', '=', read.bill.id).where('bills.status', '=', 'active').returning(['bills.id']))
      .updateTable('gateway_orders')
      .from('pay_demand')
      .set({ status: 'paid', payment_id: plan.payment.id, settled_via: via, updated_at: now })
      .where('gateway_orders.id', '=', order.id)
      .where('gateway_orders.status', '=', 'created')
      .returningAll('gateway_orders'),
    // The order and the demand are locked: nothing can have changed them.
    () => BillingErrors.stale(),
  );
  return row;
}

/** Orders quiet for longer than this are asked about; after a day without an answer they expire. */
export const RECONCILE_AFTER_S = 120;
export const ORDER_LIFETIME_S = 86_400;

/** One reconciliation pass: ask the gateway about orders whose callback and webhook never came. */
export async function reconcileOrders(state: BillingState, ctx: OperationContext, limit = 200) {
  const now = state.now();
  const quiet = await ctx.db
    .selectFrom('gateway_orders')
    .select(['id', 'gateway_ref', 'created_at', 'tenant_id'])
    .where('status', '=', 'created')
    .where('created_at', '<=', new Date(now.getTime() - RECONCILE_AFTER_S * 1000))
    .orderBy('created_at')
    .limit(limit)
    .execute();
  const result = { checked: 0, paid: 0, failed: 0, expired: 0, errors: 0 };
  if (quiet.length === 0) return result;
  const gateway = gatewayOf(state, ctx);
  for (const o of quiet) {
    result.checked++;
    try {
      const status = o.gateway_ref ? await gateway.orderStatus(o.gateway_ref) : { status: 'pending' as const, amount: 0, currency: '' };
      if (status.status === 'pending') {
        if (now.getTime() - new Date(o.created_at).getTime() < ORDER_LIFETIME_S * 1000) continue;
        await ctx.transaction(async (tx) => {
          const done = await tx.db.updateTable('gateway_orders').set({ status: 'expired', settled_via: 'reconcile', updated_at: now }).where('id', '=', o.id).where('status', '=', 'created').executeTakeFirst();
          if (Number(done.numUpdatedRows) > 0) await tx.audit({ action: 'billing.order.expired', entityType: 'billing_order', entityId: o.id, tenantId: o.tenant_id, data: {} });
        });
        result.expired++;
        continue;
      }
      const settled = await ctx.transaction((tx) => settleOrder(state, ctx, tx, { orderId: o.id, gatewayRef: o.gateway_ref!, status: status.status as 'paid' | 'failed', amount: status.amount, currency: status.currency }, 'reconcile'));
      if (settled.status === 'paid') result.paid++;
      else if (settled.status === 'failed') result.failed++;
    } catch (err) {
      result.errors++;
      ctx.log.warn({ order: o.id, code: (err as { code?: string }).code }, 'billing: reconciliation of an order failed; next pass retries');
    }
  }
  return result;
}

export function onlinePaymentOperations(state: BillingState) {
  return {
    startOnlinePayment: defineOperation({
      summary: 'Start paying a bill online: creates a gateway order and answers the checkout URL to send the browser to',
      permission: P.payOnline,
      http: { method: 'POST', path: '/payments/online' },
      input: z.object({
        tenantId: tenantCode,
        billId: billingId,
        amount: positiveAmount.optional().describe('default: the bill total'),
        returnUrl: z.url({ protocol: /^https?$/ }).max(2000).describe('where the browser lands after the payment (with order, status and payment in the query)'),
      }),
      output: orderOut,
      async handler(ctx, input) {
        const gateway = gatewayOf(state, ctx);
        const now = state.now();
        const id = newId('ord');
        const order = await ctx.transaction(async (tx) => {
          const head = await tx.db.selectFrom('bills').select(['demand_id', 'tenant_id']).where('id', '=', input.billId).executeTakeFirst();
          if (!head || head.tenant_id !== input.tenantId) throw BillingErrors.notFound('bill');
          await loadDemand(ctx, tx.db, head.demand_id, true);
          const bill = await tx.db.selectFrom('bills').selectAll().where('id', '=', input.billId).executeTakeFirstOrThrow();
          if (bill.status !== 'active') throw BillingErrors.billNotPayable(bill.status);
          if (new Date(bill.expires_at) <= now) throw BillingErrors.billExpired();
          const amount = input.amount ?? num(bill.total);
          checkAmount(bill, amount, undefined);
          const row = await tx.db
            .insertInto('gateway_orders')
            .values({ id, tenant_id: bill.tenant_id, bill_id: bill.id, demand_id: bill.demand_id, amount, currency: bill.currency, status: 'created', gateway: gateway.name, return_url: input.returnUrl, created_by: ctx.actor.id, created_at: now, updated_at: now })
            .returningAll()
            .executeTakeFirstOrThrow();
          await tx.audit({ action: 'billing.order.created', entityType: 'billing_order', entityId: id, tenantId: bill.tenant_id, data: { billId: bill.id, amount, currency: bill.currency } });
          return row;
        });
        const base = ctx.config.publicUrl ?? `http://${ctx.config.host}:${ctx.config.port}`;
        let made: { gatewayRef: string; redirectUrl: string };
        try {
          made = await gateway.createOrder({ orderId: id, amount: num(order.amount), currency: order.currency, returnUrl: new URL(CALLBACK_PATH, base).toString(), description: `${order.tenant_id} bill ${order.bill_id}` });
        } catch (err) {
          await ctx.transaction(async (tx) => {
            await tx.db.updateTable('gateway_orders').set({ status: 'failed', failure: 'the gateway refused the order', updated_at: state.now() }).where('id', '=', id).execute();
            await tx.audit({ action: 'billing.order.failed', entityType: 'billing_order', entityId: id, tenantId: order.tenant_id, data: { via: 'create' } });
          });
          throw err;
        }
        const updated = await ctx.db.updateTable('gateway_orders').set({ gateway_ref: made.gatewayRef, redirect_url: made.redirectUrl }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
        return orderView(updated);
      },
    }),

    getOrder: defineOperation({
      summary: 'A gateway order and whether it was paid',
      permission: P.paymentRead,
      http: { method: 'GET', path: '/orders/:id' },
      input: z.object({ id: billingId }),
      output: orderOut,
      async handler(ctx, input) {
        const o = await ctx.db.selectFrom('gateway_orders').selectAll().where('id', '=', input.id).executeTakeFirst();
        if (!o || !visibleTo(ctx.actor, o.tenant_id)) throw BillingErrors.notFound('order');
        return orderView(o);
      },
    }),

    reconcileOrders: defineOperation({
      summary: 'Run one reconciliation pass: ask the gateway about orders with no callback or webhook after two minutes',
      permission: P.reconcile,
      http: { method: 'POST', path: '/gateway/reconcile', status: 200 },
      input: z.object({}),
      output: z.object({ checked: z.number().int(), paid: z.number().int(), failed: z.number().int(), expired: z.number().int(), errors: z.number().int() }),
      handler: (ctx) => reconcileOrders(state, ctx),
    }),
  };
}
