import { defineOperation, tenantCode, z, type OperationContext } from '../../kernel/index.js';
import { num, visibleTo, type BillingState } from './billing-state.js';
import { drawReceiptNumber, paymentView, planPayment, readBillForPayment, samePayment, writePayment, type PaymentMode } from './apply-payment.js';
import { billingId, consumerCode } from './demands.js';
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

/** A write that found the bill or demand changed since it was read (or the key taken): read again. */
class LostRace extends Error {}
const ATTEMPTS = 3;
const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

/**
 * A counter payment in three statements, none holding a lock across a round trip: one read (bill,
 * demand, lines, the payment the idempotency key names, the cashier's day close), the receipt
 * number (only once the checks pass; concurrent draws share one statement), and one write that is
 * the whole transaction (`writePayment`): the bill closes only while it is active, unexpired and
 * the day open, and everything else only while the demand is at the version read. A write that
 * loses a race (another cashier paid the bill, a duplicate of this request was recorded first, the
 * demand changed) writes nothing; the request is read and checked again, so it answers the first
 * payment, the right 409, or is recorded against the fresh state with the number it drew.
 */
async function collectAtCounter(
  state: BillingState,
  ctx: OperationContext,
  input: { tenantId: string; billId: string; amount: number; currency?: string | undefined; mode: PaymentMode; instrument: Record<string, unknown>; idempotencyKey: string },
): Promise<any> {
  const now = state.now();
  const today = utcDay(now);
  let receiptNo: string | undefined;
  for (let attempt = 1; ; attempt++) {
    const read = await readBillForPayment(ctx.db, input.billId, {
      prior: { tenantId: input.tenantId, idempotencyKey: input.idempotencyKey },
      dayClose: { tenantId: input.tenantId, cashierId: ctx.actor.id, day: today },
    });
    if (!read || read.bill.tenant_id !== input.tenantId) throw BillingErrors.notFound('bill');
    const { bill, demand } = read;
    if (!visibleTo(ctx.actor, demand.tenant_id)) throw BillingErrors.notFound('demand');
    if (read.prior) return samePayment(read.prior, { bill, amount: input.amount, mode: input.mode });
    if (bill.status !== 'active') throw BillingErrors.billNotPayable(bill.status);
    if (new Date(bill.expires_at) <= now) throw BillingErrors.billExpired();
    checkAmount(bill, input.amount, input.currency);
    if (read.dayClosed) throw BillingErrors.dayClosed(today);
    // Drawn outside the transaction, and kept for another attempt: one number per payment recorded
    // (a request that loses to its own duplicate leaves its number unused, a gap).
    receiptNo ??= await drawReceiptNumber(state, ctx, input.tenantId);
    const request = { bill, amount: input.amount, mode: input.mode, instrument: input.instrument, idempotencyKey: input.idempotencyKey, counterDay: today, receiptNo };
    const plan = planPayment(demand, request, ctx.actor.id, now);
    try {
      const { payment } = await ctx.transaction((tx) =>
        writePayment(
          tx,
          demand,
          plan,
          now,
          (db) =>
            db
              .updateTable('bills')
              .from('pay_demand')
              .set({ status: 'paid', closed_at: now })
              .where('bills.id', '=', bill.id)
              .where('bills.status', '=', 'active')
              .where('bills.expires_at', '>', now)
              .where((eb: any) => eb.not(eb.exists(eb.selectFrom('day_closes').select('day_closes.id').where('day_closes.tenant_id', '=', input.tenantId).where('day_closes.cashier_id', '=', ctx.actor.id).where('day_closes.day', '=', today))))
              .returning(['bills.id']),
          () => new LostRace(),
        ),
      );
      return payment;
    } catch (err) {
      // A unique key taken meanwhile: this request's own duplicate, or the key used for another bill.
      if (!(err instanceof LostRace) && !isUniqueViolation(err)) throw err;
      if (attempt === ATTEMPTS) throw err instanceof LostRace ? BillingErrors.stale() : err;
    }
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
        return paymentView(await collectAtCounter(state, ctx, input));
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
