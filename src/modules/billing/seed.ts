import { isSevaError, type OperationContext } from '../../kernel/index.js';
import { DEMO_FEE_RULE, DEMO_SERVICE, DEMO_TAX_HEADS, DEMO_TENANT } from './demo-billing.js';

async function once(ctx: OperationContext, operation: string, input: object): Promise<unknown> {
  try {
    return await ctx.call('billing', operation, input);
  } catch (err) {
    if (isSevaError(err) && err.status === 409) return undefined;
    throw err;
  }
}

/** Trade-licence tax heads and fee rule in Bengaluru, two demands, a bill and a cash payment. */
export async function seedBillingDemo(ctx: OperationContext): Promise<void> {
  for (const h of DEMO_TAX_HEADS) await once(ctx, 'defineTaxHead', { tenantId: DEMO_TENANT, service: DEMO_SERVICE, ...h });
  const existing = await ctx.db.selectFrom('fee_rules').select('id').where('tenant_id', '=', DEMO_TENANT).where('service', '=', DEMO_SERVICE).executeTakeFirst();
  if (!existing) await ctx.call('billing', 'defineFeeRule', { tenantId: DEMO_TENANT, service: DEMO_SERVICE, rule: DEMO_FEE_RULE });
  const year = new Date().getUTCFullYear();
  const demand = (code: string, area: number) =>
    once(ctx, 'createDemand', { tenantId: DEMO_TENANT, service: DEMO_SERVICE, consumerCode: code, periodFrom: `${year}-04-01`, periodTo: `${year + 1}-03-31`, dueAt: `${year + 1}-03-31T18:29:59Z`, data: { tradeArea: area } });
  await demand('TL-APP-BENGALURU-DEMO-000001', 350);
  const paid = (await demand('TL-APP-BENGALURU-DEMO-000002', 1_200)) as { id: string } | undefined;
  if (paid) {
    const bill = await ctx.call<{ id: string; total: number }>('billing', 'fetchBill', { tenantId: DEMO_TENANT, demandId: paid.id });
    await ctx.call('billing', 'collectPayment', { tenantId: DEMO_TENANT, billId: bill.id, amount: bill.total, mode: 'cash', idempotencyKey: `demo-seed-${paid.id}` });
  }
}
