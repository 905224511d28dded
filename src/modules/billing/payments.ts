import { defineOperation, tenantCode, z, type OperationContext } from '../../kernel/index.js';
import { num, visibleTo, type BillingState } from './billing-state.js';
import { applyPayment, drawReceiptNumber, paymentView, priorPayment } from './apply-payment.js';
import { billingId, consumerCode, loadDemand } from './demands.js';
import { BillingErrors } from './errors.js';
import { serviceCode } from './fee-config.js';
import { currency, positiveAmount } from './money.js';
import { P } from './permissions.js';

export const paymentOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  demandId: z.string(),
  billId: z.string(),
  service: z.string(),
  consumerCode: z.string(),
  mode: z.enum(['online', 'cash', 'cheque', 'card', 'dd']),
  instrument: z.record(z.string(), z.unknown()),
  amount: z.number().int(),
  currency: z.string(),
  unallocated: z.number().int(),
  refunded: z.number().int(),
  status: z.enum(['completed', 'cancelled']),
  receiptNo: z.string(),
  orderId: z.string().nullable(),
  collectedBy: z.string(),
  counterDay: z.string().nullable(),
  createdAt: z.string(),
  cancelledAt: z.string().nullable(),
});

export const idempotencyKey = z.string().regex(/^[\x21-\x7e]{8,128}$/, '8 to 128 printable characters, the same on every retry of one payment');
export const utcDay = (at: Date) => at.toISOString().slice(0, 10);

/** Cheque and DD need number, bank and date; card its last four digits and approval code. */
const instrument = z.object({
  number: z.string().trim().min(1).max(40).optional(),
  bank: z.string().trim().min(1).max(120).optional(),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
  last4: z.string().regex(/^\d{4}$/).optional(),
  approvalCode: z.string().trim().min(1).max(40).optional(),
});
const NEEDS: Record<string, Array<keyof z.infer<typeof instrument>>> = { cheque: ['number', 'bank', 'date'], dd: ['number', 'bank', 'date'], card: ['last4', 'approvalCode'], cash: [] };

/** A payment the caller's tenant covers; the payer may read their own. */
export async function loadPayment(ctx: OperationContext, db: OperationContext['db'], id: string, lock = false): Promise<any> {
  let q = db.selectFrom('payments').selectAll().where('id', '=', id);
  if (lock) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row || !visibleTo(ctx.actor, row.tenant_id)) throw BillingErrors.notFound('payment');
  return row;
}

/** Amount rules shared by the counter and online: at least the bill's minimum, at most its total. */
export function checkAmount(bill: any, amountPaid: number, currencyGiven: string | undefined): void {
  if (currencyGiven && currencyGiven !== bill.currency) throw BillingErrors.currencyMismatch();
  if (amountPaid > num(bill.total)) throw BillingErrors.amountInvalid(`more than the bill total ${num(bill.total)}`);
  if (amountPaid < num(bill.minimum_payable)) {
    if (num(bill.minimum_payable) === num(bill.total)) throw BillingErrors.partialNotAllowed(num(bill.total));
    throw BillingErrors.amountInvalid(`less than the minimum ${num(bill.minimum_payable)}`);
  }
}

export function paymentOperations(state: BillingState) {
  return {
    collectPayment: defineOperation({
      summary: 'Record a counter payment of a bill (cash, cheque, card, DD) by a cashier; idempotent by idempotencyKey',
      permission: P.collect,
      http: { method: 'POST', path: '/payments/counter' },
      input: z.object({
        tenantId: tenantCode,
        billId: billingId,
        amount: positiveAmount,
        currency: currency.optional(),
        mode: z.enum(['cash', 'cheque', 'card', 'dd']),
        instrument: instrument.default({}),
        idempotencyKey,
      }),
      output: paymentOut,
      async handler(ctx, input) {
        const missing = NEEDS[input.mode]!.filter((k) => input.instrument[k] === undefined);
        if (missing.length > 0) throw BillingErrors.instrumentMissing(`body.instrument.${missing[0]}`, input.mode);
        const now = state.now();
        const today = utcDay(now);
        // The same checks twice: first without locks, so a request that would fail (or a retry
        // of one already paid) draws no receipt number; then under the demand's lock, for real.
        const check = async (db: OperationContext['db'], lock: boolean) => {
          const head = await db.selectFrom('bills').select(['demand_id', 'tenant_id']).where('id', '=', input.billId).executeTakeFirst();
          if (!head || head.tenant_id !== input.tenantId) throw BillingErrors.notFound('bill');
          const demand = await loadDemand(ctx, db, head.demand_id, lock);
          const bill = await db.selectFrom('bills').selectAll().where('id', '=', input.billId).executeTakeFirstOrThrow();
          const prior = await priorPayment(db, input.tenantId, { bill, amount: input.amount, mode: input.mode, idempotencyKey: input.idempotencyKey });
          if (prior) return { prior };
          if (bill.status !== 'active') throw BillingErrors.billNotPayable(bill.status);
          if (new Date(bill.expires_at) <= now) throw BillingErrors.billExpired();
          checkAmount(bill, input.amount, input.currency);
          const closed = await db.selectFrom('day_closes').select('id').where('tenant_id', '=', input.tenantId).where('cashier_id', '=', ctx.actor.id).where('day', '=', today).executeTakeFirst();
          if (closed) throw BillingErrors.dayClosed(today);
          return { demand, bill };
        };
        const preview = await check(ctx.db, false);
        if (preview.prior) return paymentView(preview.prior);
        // Drawn before the transaction: numbers drawn at once by many cashiers merge into one
        // statement, and the sequence's row is not locked until each payment commits (which
        // made payments of one tenant commit one at a time).
        const receiptNo = await drawReceiptNumber(state, ctx, input.tenantId);
        const payment = await ctx.transaction(async (tx) => {
          const checked = await check(tx.db, true);
          if (checked.prior) return checked.prior;
          return applyPayment(state, ctx, tx, checked.demand, { bill: checked.bill, amount: input.amount, mode: input.mode, instrument: input.instrument, idempotencyKey: input.idempotencyKey, counterDay: today, receiptNo });
        });
        return paymentView(payment);
      },
    }),

    getPayment: defineOperation({
      summary: 'A payment: amount, mode, receipt number, refunds, status',
      permission: P.paymentRead,
      http: { method: 'GET', path: '/payments/:id' },
      input: z.object({ id: billingId }),
      output: paymentOut,
      handler: async (ctx, input) => paymentView(await loadPayment(ctx, ctx.db, input.id)),
    }),

    findPayments: defineOperation({
      summary: 'Payments of a consumer code in a service, newest first',
      permission: P.paymentRead,
      http: { method: 'GET', path: '/payments' },
      input: z.object({ tenant: tenantCode, service: serviceCode, consumerCode }),
      output: z.object({ items: z.array(paymentOut) }),
      async handler(ctx, input) {
        const rows = await ctx.db.selectFrom('payments').selectAll().where('tenant_id', '=', input.tenant).where('service', '=', input.service).where('consumer_code', '=', input.consumerCode).orderBy('created_at', 'desc').limit(200).execute();
        return { items: rows.map(paymentView) };
      },
    }),
  };
}
