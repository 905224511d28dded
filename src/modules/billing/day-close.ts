import { defineOperation, newId, tenantCode, z, type OperationContext } from '../../kernel/index.js';
import { iso, num, type BillingState } from './billing-state.js';
import { BillingErrors } from './errors.js';
import { P } from './permissions.js';
import { utcDay } from './payments.js';

const dayInput = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');
const MODES = ['cash', 'cheque', 'card', 'dd'] as const;
const totalsOut = z.object({ mode: z.string(), count: z.number().int(), amount: z.number().int() });
const reportOut = z.object({
  tenantId: z.string(),
  cashierId: z.string(),
  day: z.string(),
  currency: z.record(z.string(), z.array(totalsOut)).describe('per currency, per mode: completed payments'),
  cancelled: z.object({ count: z.number().int(), amount: z.number().int() }),
  refunded: z.number().int(),
  closedAt: z.string().nullable(),
});

/** The cashier's counter payments of one UTC day: completed by mode and currency, cancelled, refunded. */
async function report(ctx: OperationContext, tenantId: string, cashierId: string, day: string) {
  const rows = await ctx.db
    .selectFrom('payments')
    .select(['mode', 'currency', 'status'])
    .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum('amount').as('amount'), eb.fn.sum('refunded').as('refunded')])
    .where('tenant_id', '=', tenantId)
    .where('collected_by', '=', cashierId)
    .where('counter_day', '=', day)
    .groupBy(['mode', 'currency', 'status'])
    .execute();
  const currency: Record<string, Array<{ mode: string; count: number; amount: number }>> = {};
  const cancelled = { count: 0, amount: 0 };
  let refunded = 0;
  for (const r of rows as any[]) {
    refunded += num(r.refunded ?? 0);
    if (r.status === 'cancelled') {
      cancelled.count += num(r.n);
      cancelled.amount += num(r.amount);
      continue;
    }
    const list = (currency[r.currency] ??= MODES.map((mode) => ({ mode, count: 0, amount: 0 })));
    const slot = list.find((m) => m.mode === r.mode)!;
    slot.count += num(r.n);
    slot.amount += num(r.amount);
  }
  return { tenantId, cashierId, day, currency, cancelled, refunded };
}

export function dayCloseOperations(state: BillingState) {
  return {
    dayCloseReport: defineOperation({
      summary: 'A cashier’s counter day: totals by mode (and currency), cancellations, refunds, and whether it is closed',
      permission: P.dayClose,
      http: { method: 'GET', path: '/counter/day-close' },
      input: z.object({ tenant: tenantCode, day: dayInput.optional(), cashier: z.string().min(1).max(64).optional().describe('default: the caller') }),
      output: reportOut,
      async handler(ctx, input) {
        const day = input.day ?? utcDay(state.now());
        const cashier = input.cashier ?? ctx.actor.id;
        const closed = await ctx.db.selectFrom('day_closes').select('closed_at').where('tenant_id', '=', input.tenant).where('cashier_id', '=', cashier).where('day', '=', day).executeTakeFirst();
        return { ...(await report(ctx, input.tenant, cashier, day)), closedAt: closed ? iso(closed.closed_at) : null };
      },
    }),

    closeCounterDay: defineOperation({
      summary: 'Close the caller’s counter day: the totals are frozen and no more counter payments or cancellations that day',
      permission: P.dayClose,
      http: { method: 'POST', path: '/counter/day-close' },
      input: z.object({ tenantId: tenantCode, day: dayInput.optional() }),
      output: reportOut,
      async handler(ctx, input) {
        const now = state.now();
        const day = input.day ?? utcDay(now);
        return ctx.transaction(async (tx) => {
          const totals = await report(ctx, input.tenantId, ctx.actor.id, day);
          const payments = Object.values(totals.currency).flat().reduce((n, m) => n + m.count, 0) + totals.cancelled.count;
          const row = await tx.db
            .insertInto('day_closes')
            .values({ id: newId('dcl'), tenant_id: input.tenantId, cashier_id: ctx.actor.id, day, totals: JSON.stringify(totals), payments, closed_at: now })
            .onConflict((oc) => oc.columns(['tenant_id', 'cashier_id', 'day']).doNothing())
            .returningAll()
            .executeTakeFirst();
          if (!row) throw BillingErrors.dayClosed(day);
          await tx.audit({ action: 'billing.counter.day_closed', entityType: 'billing_day_close', entityId: row.id, tenantId: input.tenantId, data: totals });
          return { ...totals, closedAt: iso(now) };
        });
      },
    }),
  };
}
