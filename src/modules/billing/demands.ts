import { defineOperation, newId, sql, tenantCode, z, type OperationContext, type TxContext } from '../../kernel/index.js';
import { iso, num, visibleTo, type BillingState } from './billing-state.js';
import { BillingErrors } from './errors.js';
import { resolveRule, serviceCode, taxHeadsFor } from './fee-config.js';
import { computeFees, taxHeadCode } from './fee-rule.js';
import { MAX_AMOUNT, positiveAmount } from './money.js';
import { P } from './permissions.js';

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');
export const consumerCode = z.string().min(1).max(100).describe('the number of the thing billed in its own module (application no., property id)');
export const billingId = z.string().min(1).max(64);

const lineOut = z.object({ id: z.string(), taxHead: z.string(), category: z.string(), source: z.string(), amount: z.number().int(), collected: z.number().int() });
export const demandOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  service: z.string(),
  consumerCode: z.string(),
  payerId: z.string().nullable(),
  periodFrom: z.string(),
  periodTo: z.string(),
  dueAt: z.string(),
  currency: z.string(),
  status: z.enum(['active', 'paid', 'cancelled']),
  allowPartial: z.boolean(),
  base: z.number().int(),
  total: z.number().int(),
  collected: z.number().int(),
  outstanding: z.number().int(),
  version: z.number().int(),
  lines: z.array(lineOut),
});

export async function linesOf(db: OperationContext['db'], demandId: string, lock = false): Promise<any[]> {
  let q = db.selectFrom('demand_lines').selectAll().where('demand_id', '=', demandId).orderBy('seq');
  if (lock) q = q.forUpdate();
  return q.execute();
}

export function demandView(d: any, lines: any[]) {
  const total = num(d.total_amount);
  const collected = num(d.collected_amount);
  return {
    id: d.id,
    tenantId: d.tenant_id,
    service: d.service,
    consumerCode: d.consumer_code,
    payerId: d.payer_id ?? null,
    periodFrom: d.period_from,
    periodTo: d.period_to,
    dueAt: iso(d.due_at),
    currency: d.currency,
    status: d.status,
    allowPartial: Boolean(d.allow_partial),
    base: num(d.base_amount),
    total,
    collected,
    outstanding: d.status === 'cancelled' ? 0 : total - collected,
    version: Number(d.version),
    lines: lines.map((l) => ({ id: l.id, taxHead: l.tax_head, category: l.category, source: l.source, amount: num(l.amount), collected: num(l.collected) })),
  };
}

/** A demand the caller's tenant covers (another tenant's answers 404), optionally locked. */
export async function loadDemand(ctx: OperationContext, db: OperationContext['db'], id: string, lock = false): Promise<any> {
  let q = db.selectFrom('demands').selectAll().where('id', '=', id);
  if (lock) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row || !visibleTo(ctx.actor, row.tenant_id)) throw BillingErrors.notFound('demand');
  return row;
}

/** Totals and status from the lines, after a change to them. */
export async function refreshDemand(tx: TxContext, demandId: string, now: Date): Promise<any> {
  return tx.db
    .updateTable('demands')
    .set({
      total_amount: sql`(select coalesce(sum(amount), 0) from billing.demand_lines where demand_id = ${demandId})`,
      collected_amount: sql`(select coalesce(sum(collected), 0) from billing.demand_lines where demand_id = ${demandId})`,
      status: sql`case when status = 'cancelled' then 'cancelled' when (select coalesce(sum(amount - collected), 0) from billing.demand_lines where demand_id = ${demandId}) <= 0 then 'paid' else 'active' end`,
      version: sql`version + 1`,
      updated_at: now,
    })
    .where('id', '=', demandId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Cancels the demand's bill to pay, if any (its amounts no longer hold). */
export async function cancelActiveBill(tx: TxContext, demandId: string, now: Date): Promise<void> {
  await tx.db.updateTable('bills').set({ status: 'cancelled', closed_at: now }).where('demand_id', '=', demandId).where('status', '=', 'active').execute();
}

export function demandOperations(state: BillingState) {
  return {
    createDemand: defineOperation({
      summary: 'Create a demand: what a consumer owes for a period, by tax head, computed by the service’s fee rule (or given lines)',
      permission: P.demandCreate,
      http: { method: 'POST', path: '/demands' },
      input: z.object({
        tenantId: tenantCode,
        service: serviceCode,
        consumerCode,
        payerId: z.string().min(1).max(64).optional().describe('the user who owes it, when known'),
        periodFrom: date,
        periodTo: date,
        dueAt: z.iso.datetime().describe('penalties accrue after this time; rebates count whole days before it'),
        data: z.record(z.string(), z.unknown()).default({}).describe('the record the fee rule reads (trade area, units…)'),
        lines: z.array(z.object({ taxHead: taxHeadCode, amount: positiveAmount })).min(1).max(20).optional().describe('explicit lines instead of the fee rule’s'),
      }),
      output: demandOut,
      async handler(ctx, input) {
        if (input.periodTo < input.periodFrom) throw BillingErrors.feeNotComputable('body.periodTo', 'before periodFrom');
        const rule = await resolveRule(ctx, input.tenantId, input.service);
        let lines: Array<{ taxHead: string; amount: number }>;
        if (input.lines) {
          const heads = await taxHeadsFor(ctx, input.tenantId, input.service);
          input.lines.forEach((l, i) => {
            const head = heads.get(l.taxHead);
            if (!head || !['fee', 'tax'].includes(head.category)) throw BillingErrors.taxHeadUnknown(l.taxHead, `body.lines.${i}.taxHead`);
          });
          lines = input.lines;
        } else {
          const computed = computeFees(rule.rule, rule.compiled, input.data);
          if (computed.length > 0 && 'path' in computed[0]!) throw BillingErrors.feeInputMissing(computed as any);
          lines = (computed as Array<{ taxHead: string; amount: number }>).filter((l) => l.amount > 0);
        }
        const base = lines.reduce((s, l) => s + l.amount, 0);
        if (base === 0) throw BillingErrors.nothingDue();
        const heads = await taxHeadsFor(ctx, input.tenantId, input.service);
        const now = state.now();
        const id = newId('dmd');
        return ctx.transaction(async (tx) => {
          const demand = await tx.db
            .insertInto('demands')
            .values({
              id,
              tenant_id: input.tenantId,
              service: input.service,
              consumer_code: input.consumerCode,
              payer_id: input.payerId ?? null,
              period_from: input.periodFrom,
              period_to: input.periodTo,
              due_at: new Date(input.dueAt),
              currency: rule.rule.currency,
              fee_rule_id: rule.id,
              allow_partial: rule.rule.allowPartial,
              minimum_amount: rule.rule.minimumPartial,
              base_amount: base,
              total_amount: base,
              status: 'active',
              created_by: ctx.actor.id,
              created_at: now,
              updated_at: now,
            })
            .onConflict((oc) => oc.columns(['tenant_id', 'service', 'consumer_code', 'period_from']).doNothing())
            .returningAll()
            .executeTakeFirst();
          if (!demand) throw BillingErrors.demandExists();
          const rows = lines.map((l, i) => ({ id: newId('dml'), demand_id: id, tenant_id: input.tenantId, seq: i + 1, tax_head: l.taxHead, category: heads.get(l.taxHead)?.category ?? 'fee', source: 'fee', amount: l.amount }));
          await tx.db.insertInto('demand_lines').values(rows).execute();
          const facts = { demandId: id, service: input.service, consumerCode: input.consumerCode, payerId: input.payerId ?? null, amount: base, currency: rule.rule.currency, dueAt: input.dueAt, feeRuleVersion: rule.version };
          await tx.emit({ name: 'billing.demand.created', tenantId: input.tenantId, payload: facts });
          await tx.audit({ action: 'billing.demand.created', entityType: 'billing_demand', entityId: id, tenantId: input.tenantId, data: { ...facts, lines } });
          return demandView(demand, await linesOf(tx.db, id));
        });
      },
    }),

    getDemand: defineOperation({
      summary: 'A demand with its lines, what was collected and what is outstanding',
      permission: P.demandRead,
      http: { method: 'GET', path: '/demands/:id' },
      input: z.object({ id: billingId }),
      output: demandOut,
      async handler(ctx, input) {
        const d = await loadDemand(ctx, ctx.db, input.id);
        return demandView(d, await linesOf(ctx.db, d.id));
      },
    }),

    findDemands: defineOperation({
      summary: 'The demands of a consumer code in a service (newest period first)',
      permission: P.demandRead,
      http: { method: 'GET', path: '/demands' },
      input: z.object({ tenant: tenantCode, service: serviceCode, consumerCode }),
      output: z.object({ items: z.array(demandOut) }),
      async handler(ctx, input) {
        const rows = await ctx.db.selectFrom('demands').selectAll().where('tenant_id', '=', input.tenant).where('service', '=', input.service).where('consumer_code', '=', input.consumerCode).orderBy('period_from', 'desc').limit(100).execute();
        return { items: await Promise.all(rows.map(async (d: any) => demandView(d, await linesOf(ctx.db, d.id)))) };
      },
    }),

    adjustDemand: defineOperation({
      summary: 'Adjust lines of a demand (up or down) or waive part of them, with a reason; cancels the bill to pay',
      permission: P.demandAdjust,
      http: { method: 'POST', path: '/demands/:id/adjustments', status: 200 },
      input: z.object({
        id: billingId,
        version: z.number().int().min(1),
        kind: z.enum(['adjustment', 'waiver']),
        lines: z.array(z.object({ taxHead: taxHeadCode, delta: z.number().int().min(-MAX_AMOUNT).max(MAX_AMOUNT).refine((d) => d !== 0, 'must not be 0') })).min(1).max(20),
        reason: z.string().trim().min(3).max(1000),
      }),
      output: demandOut,
      async handler(ctx, input) {
        const now = state.now();
        return ctx.transaction(async (tx) => {
          const d = await loadDemand(ctx, tx.db, input.id, true);
          if (d.status === 'cancelled') throw BillingErrors.demandClosed(d.status);
          if (Number(d.version) !== input.version) throw BillingErrors.stale();
          const lines = await linesOf(tx.db, d.id, true);
          const changes: Array<{ lineId: string; taxHead: string; delta: number }> = [];
          input.lines.forEach((change, i) => {
            const path = `body.lines.${i}.delta`;
            if (input.kind === 'waiver' && change.delta > 0) throw BillingErrors.adjustmentTooLarge(path);
            // The latest line of that tax head (a penalty may have been levied more than once).
            const line = [...lines].reverse().find((l) => l.tax_head === change.taxHead && l.source !== 'rebate');
            if (!line) throw BillingErrors.taxHeadUnknown(change.taxHead, `body.lines.${i}.taxHead`);
            const next = num(line.amount) + change.delta;
            if (next < 0 || next < num(line.collected)) throw BillingErrors.adjustmentTooLarge(path);
            line.amount = next;
            changes.push({ lineId: line.id, taxHead: change.taxHead, delta: change.delta });
          });
          for (const c of changes) {
            await tx.db.updateTable('demand_lines').set({ amount: sql`amount + ${c.delta}` }).where('id', '=', c.lineId).execute();
            await tx.db.insertInto('adjustments').values({ id: newId('adj'), demand_id: d.id, tenant_id: d.tenant_id, line_id: c.lineId, kind: input.kind, delta: c.delta, reason: input.reason, actor_id: ctx.actor.id, at: now }).execute();
          }
          await cancelActiveBill(tx, d.id, now);
          const after = await refreshDemand(tx, d.id, now);
          await tx.audit({ action: `billing.demand.${input.kind === 'waiver' ? 'waived' : 'adjusted'}`, entityType: 'billing_demand', entityId: d.id, tenantId: d.tenant_id, data: { changes, reason: input.reason, before: num(d.total_amount), after: num(after.total_amount) } });
          return demandView(after, await linesOf(tx.db, d.id));
        });
      },
    }),

    cancelDemand: defineOperation({
      summary: 'Cancel a demand nothing was collected on (refund payments first), with a reason',
      permission: P.demandCancel,
      http: { method: 'POST', path: '/demands/:id/cancel', status: 200 },
      input: z.object({ id: billingId, version: z.number().int().min(1), reason: z.string().trim().min(3).max(1000) }),
      output: demandOut,
      async handler(ctx, input) {
        const now = state.now();
        return ctx.transaction(async (tx) => {
          const d = await loadDemand(ctx, tx.db, input.id, true);
          if (d.status === 'cancelled') throw BillingErrors.demandClosed(d.status);
          if (Number(d.version) !== input.version) throw BillingErrors.stale();
          if (num(d.collected_amount) !== 0) throw BillingErrors.demandClosed('partly collected: refund the payments first');
          await cancelActiveBill(tx, d.id, now);
          const after = await tx.db.updateTable('demands').set({ status: 'cancelled', version: sql`version + 1`, updated_at: now }).where('id', '=', d.id).returningAll().executeTakeFirstOrThrow();
          await tx.audit({ action: 'billing.demand.cancelled', entityType: 'billing_demand', entityId: d.id, tenantId: d.tenant_id, data: { reason: input.reason, total: num(d.total_amount) } });
          return demandView(after, await linesOf(tx.db, d.id));
        });
      },
    }),
  };
}
