import { defineOperation, newId, tenantCode, z, type OperationContext, type TxContext } from '../../kernel/index.js';
import { fromJson, iso, num, visibleTo, type BillingState } from './billing-state.js';
import { billingId, consumerCode, linesOf, loadDemand } from './demands.js';
import { BillingErrors } from './errors.js';
import { ruleById, serviceCode, taxHeadsFor, type StoredRule } from './fee-config.js';
import { nextChange, timeBased } from './fee-rule.js';
import { P } from './permissions.js';

export interface BillLine {
  /** The demand line it pays; absent for a penalty or rebate not yet levied. */
  lineId: string | null;
  taxHead: string;
  category: string;
  source: 'fee' | 'penalty' | 'rebate';
  /** Positive, except a rebate (negative). */
  amount: number;
  /** Penalty lines: the whole penalty owed at generation, of which `amount` is not yet levied. */
  toDate?: number;
}

export const billOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  demandId: z.string(),
  service: z.string(),
  consumerCode: z.string(),
  status: z.enum(['active', 'expired', 'paid', 'cancelled']),
  currency: z.string(),
  total: z.number().int(),
  minimumPayable: z.number().int(),
  lines: z.array(z.object({ taxHead: z.string(), category: z.string(), source: z.string(), amount: z.number().int() })),
  generatedAt: z.string(),
  expiresAt: z.string(),
});

export function billView(b: any, now?: Date) {
  const expired = b.status === 'active' && now !== undefined && new Date(b.expires_at) <= now;
  return {
    id: b.id,
    tenantId: b.tenant_id,
    demandId: b.demand_id,
    service: b.service,
    consumerCode: b.consumer_code,
    status: expired ? ('expired' as const) : b.status,
    currency: b.currency,
    total: num(b.total),
    minimumPayable: num(b.minimum_payable),
    lines: fromJson<BillLine[]>(b.lines).map((l) => ({ taxHead: l.taxHead, category: l.category, source: l.source, amount: l.amount })),
    generatedAt: iso(b.generated_at),
    expiresAt: iso(b.expires_at),
  };
}

/**
 * What to pay now on a demand: the outstanding of each line, the penalty owed to date not yet
 * levied, and the rebate while nothing was collected and it applies; expiring at the bill
 * validity or at the next moment the penalty or rebate changes, whichever is first.
 */
export function composeBill(rule: StoredRule, demand: any, lines: any[], heads: Map<string, any>, now: Date) {
  const billLines: BillLine[] = [];
  for (const l of lines) {
    const due = num(l.amount) - num(l.collected);
    if (due > 0) billLines.push({ lineId: l.id, taxHead: l.tax_head, category: l.category, source: l.source, amount: due });
  }
  const { penalty, rebate } = timeBased(rule.compiled, num(demand.base_amount), new Date(demand.due_at), now);
  const newPenalty = penalty - num(demand.penalty_levied);
  if (rule.rule.penalty && newPenalty > 0) {
    const head = rule.rule.penalty.taxHead;
    billLines.unshift({ lineId: null, taxHead: head, category: heads.get(head)?.category ?? 'penalty', source: 'penalty', amount: newPenalty, toDate: penalty });
  }
  if (rule.rule.rebate && rebate > 0 && num(demand.collected_amount) === 0) {
    const head = rule.rule.rebate.taxHead;
    billLines.push({ lineId: null, taxHead: head, category: 'rebate', source: 'rebate', amount: -rebate });
  }
  const total = billLines.reduce((s, l) => s + l.amount, 0);
  const validity = new Date(now.getTime() + rule.rule.billValidityHours * 3_600_000);
  const change = nextChange(rule.rule, new Date(demand.due_at), now);
  const expiresAt = change && change < validity ? change : validity;
  const minimumPayable = demand.allow_partial ? Math.min(total, Math.max(1, num(demand.minimum_amount))) : total;
  return { lines: billLines, total, minimumPayable, expiresAt };
}

function billRow(demand: any, composed: ReturnType<typeof composeBill>, now: Date) {
  return {
    id: newId('bill'),
    tenant_id: demand.tenant_id,
    demand_id: demand.id,
    service: demand.service,
    consumer_code: demand.consumer_code,
    status: 'active',
    currency: demand.currency,
    total: composed.total,
    minimum_payable: composed.minimumPayable,
    lines: JSON.stringify(composed.lines),
    generated_at: now,
    expires_at: composed.expiresAt,
  };
}

/** The demand's bill to pay: the active one while it holds, else a new one (the old one expires). */
export async function currentBill(state: BillingState, ctx: OperationContext, tx: TxContext, demandId: string): Promise<any> {
  const now = state.now();
  const demand = await loadDemand(ctx, tx.db, demandId, true);
  if (demand.status !== 'active') throw BillingErrors.demandClosed(demand.status);
  const active = await tx.db.selectFrom('bills').selectAll().where('demand_id', '=', demand.id).where('status', '=', 'active').executeTakeFirst();
  if (active && new Date(active.expires_at) > now) return active;
  if (active) await tx.db.updateTable('bills').set({ status: 'expired', closed_at: now }).where('id', '=', active.id).execute();
  const rule = await ruleById(ctx, demand.fee_rule_id);
  const composed = composeBill(rule, demand, await linesOf(tx.db, demand.id), await taxHeadsFor(ctx, demand.tenant_id, demand.service), now);
  if (composed.total <= 0) throw BillingErrors.nothingDue();
  const bill = await tx.db.insertInto('bills').values(billRow(demand, composed, now)).returningAll().executeTakeFirstOrThrow();
  await tx.audit({
    action: 'billing.bill.generated',
    entityType: 'billing_bill',
    entityId: bill.id,
    tenantId: demand.tenant_id,
    data: { demandId: demand.id, total: composed.total, expiresAt: composed.expiresAt.toISOString(), replaces: active?.id ?? null },
  });
  return bill;
}

export async function loadBill(ctx: OperationContext, db: OperationContext['db'], id: string): Promise<any> {
  const row = await db.selectFrom('bills').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !visibleTo(ctx.actor, row.tenant_id)) throw BillingErrors.notFound('bill');
  return row;
}

export const BATCH_MAX = 5_000;
const INSERT_CHUNK = 1_000;

/**
 * Bills for a page of a tenant's active demands that have no bill holding now, in one
 * transaction: stale bills expire, new ones are inserted in chunks, one audit entry per page.
 */
export async function generateBillPage(state: BillingState, ctx: OperationContext, input: { tenantId: string; service?: string | undefined; after?: string | undefined; limit: number }) {
  const now = state.now();
  return ctx.transaction(async (tx) => {
    let q = tx.db.selectFrom('demands').selectAll().where('tenant_id', '=', input.tenantId).where('status', '=', 'active');
    if (input.service) q = q.where('service', '=', input.service);
    if (input.after) q = q.where('id', '>', input.after);
    const demands = await q.orderBy('id').limit(input.limit).forUpdate().execute();
    if (demands.length === 0) return { generated: 0, skipped: 0, nextCursor: null };
    const ids = demands.map((d: any) => d.id);
    const holding = new Set(
      (await tx.db.selectFrom('bills').select('demand_id').where('demand_id', 'in', ids).where('status', '=', 'active').where('expires_at', '>', now).execute()).map((r: any) => r.demand_id),
    );
    const todo = demands.filter((d: any) => !holding.has(d.id));
    const todoIds = todo.map((d: any) => d.id);
    if (todoIds.length > 0) await tx.db.updateTable('bills').set({ status: 'expired', closed_at: now }).where('demand_id', 'in', todoIds).where('status', '=', 'active').execute();
    const lines = todoIds.length > 0 ? await tx.db.selectFrom('demand_lines').selectAll().where('demand_id', 'in', todoIds).orderBy('demand_id').orderBy('seq').execute() : [];
    const byDemand = new Map<string, any[]>();
    for (const l of lines) (byDemand.get(l.demand_id) ?? byDemand.set(l.demand_id, []).get(l.demand_id)!).push(l);
    const heads = new Map<string, Map<string, any>>();
    const rows: Array<ReturnType<typeof billRow>> = [];
    let skipped = holding.size;
    for (const d of todo) {
      const key = `${d.tenant_id}|${d.service}`;
      if (!heads.has(key)) heads.set(key, await taxHeadsFor(ctx, d.tenant_id, d.service));
      const composed = composeBill(await ruleById(ctx, d.fee_rule_id), d, byDemand.get(d.id) ?? [], heads.get(key)!, now);
      if (composed.total <= 0) skipped++;
      else rows.push(billRow(d, composed, now));
    }
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) await tx.db.insertInto('bills').values(rows.slice(i, i + INSERT_CHUNK)).execute();
    const last = ids[ids.length - 1]!;
    await tx.audit({ action: 'billing.bill.batch', entityType: 'billing_bill_batch', entityId: `${input.tenantId}:${ids[0]}..${last}`, tenantId: input.tenantId, data: { service: input.service ?? null, generated: rows.length, skipped } });
    return { generated: rows.length, skipped, nextCursor: demands.length < input.limit ? null : last };
  });
}

export function billOperations(state: BillingState) {
  return {
    fetchBill: defineOperation({
      summary: 'The bill to pay now for a demand (by id, or the oldest active demand of a consumer code); an expired bill is replaced with fresh penalties',
      permission: P.billGenerate,
      http: { method: 'POST', path: '/bills', status: 200 },
      input: z
        .object({ tenantId: tenantCode, demandId: billingId.optional(), service: serviceCode.optional(), consumerCode: consumerCode.optional() })
        .refine((i) => i.demandId || (i.service && i.consumerCode), { message: 'give demandId, or service and consumerCode', path: ['demandId'] }),
      output: billOut,
      async handler(ctx, input) {
        let demandId = input.demandId;
        if (!demandId) {
          const d = await ctx.db
            .selectFrom('demands')
            .select('id')
            .where('tenant_id', '=', input.tenantId)
            .where('service', '=', input.service!)
            .where('consumer_code', '=', input.consumerCode!)
            .where('status', '=', 'active')
            .orderBy('period_from')
            .executeTakeFirst();
          if (!d) throw BillingErrors.nothingDue();
          demandId = d.id as string;
        }
        const bill = await ctx.transaction(async (tx) => {
          const d = await loadDemand(ctx, tx.db, demandId);
          if (d.tenant_id !== input.tenantId) throw BillingErrors.notFound('demand');
          return currentBill(state, ctx, tx, demandId);
        });
        return billView(bill, state.now());
      },
    }),

    getBill: defineOperation({
      summary: 'A bill as generated (status `expired` once past its expiry)',
      permission: P.billRead,
      http: { method: 'GET', path: '/bills/:id' },
      input: z.object({ id: billingId }),
      output: billOut,
      handler: async (ctx, input) => billView(await loadBill(ctx, ctx.db, input.id), state.now()),
    }),

    generateBills: defineOperation({
      summary: 'Bills for a page of a tenant’s active demands with no bill holding now (batch run; follow nextCursor)',
      permission: P.billBatch,
      http: { method: 'POST', path: '/bills/batch', status: 200 },
      input: z.object({ tenantId: tenantCode, service: serviceCode.optional(), after: billingId.optional(), limit: z.number().int().min(1).max(BATCH_MAX).default(1_000) }),
      output: z.object({ generated: z.number().int(), skipped: z.number().int(), nextCursor: z.string().nullable() }),
      handler: (ctx, input) => generateBillPage(state, ctx, input),
    }),
  };
}
