import { defineOperation, newId, tenantChain, tenantCode, z, type OperationContext } from '../../kernel/index.js';
import type { BillingState } from './billing-state.js';
import { BillingErrors } from './errors.js';
import { compileRule, computeFees, feeRuleBody, feeRuleProblems, taxHeadCode, timeBased, type CompiledRule, type FeeRule } from './fee-rule.js';
import { P } from './permissions.js';

export const serviceCode = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'letters, digits and _ . -, such as TL');
export const CATEGORIES = ['fee', 'tax', 'penalty', 'interest', 'rebate'] as const;

const taxHeadOut = z.object({ id: z.string(), tenantId: z.string(), service: z.string(), code: z.string(), name: z.string(), category: z.enum(CATEGORIES), glCode: z.string() });
const taxHeadView = (r: any) => ({ id: r.id, tenantId: r.tenant_id, service: r.service, code: r.code, name: r.name, category: r.category, glCode: r.gl_code });

export interface StoredRule {
  id: string;
  tenantId: string;
  service: string;
  version: number;
  rule: FeeRule;
  compiled: CompiledRule;
}

/** Tax heads of a service seen from a tenant: the nearest tenant's definition of each code wins. */
export async function taxHeadsFor(ctx: OperationContext, tenant: string, service: string): Promise<Map<string, any>> {
  const chain = tenantChain(tenant);
  const rows = await ctx.db.selectFrom('tax_heads').selectAll().where('tenant_id', 'in', chain).where('service', '=', service).execute();
  rows.sort((a: any, b: any) => chain.indexOf(a.tenant_id) - chain.indexOf(b.tenant_id));
  const heads = new Map<string, any>();
  for (const r of rows) if (!heads.has(r.code)) heads.set(r.code, r);
  return heads;
}

const ruleCache = new Map<string, StoredRule>();

function stored(row: any): StoredRule {
  const hit = ruleCache.get(row.id);
  if (hit) return hit;
  const rule = feeRuleBody.parse(typeof row.rule === 'string' ? JSON.parse(row.rule) : row.rule);
  const value = { id: row.id, tenantId: row.tenant_id, service: row.service, version: Number(row.version), rule, compiled: compileRule(rule) };
  // A stored version never changes, so the cache needs no invalidation.
  if (ruleCache.size > 1000) ruleCache.clear();
  ruleCache.set(row.id, value);
  return value;
}

export async function ruleById(ctx: OperationContext, id: string): Promise<StoredRule> {
  const hit = ruleCache.get(id);
  if (hit) return hit;
  return stored(await ctx.db.selectFrom('fee_rules').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
}

/** The latest fee rule of a service at the nearest tenant of the chain. */
export async function resolveRule(ctx: OperationContext, tenant: string, service: string): Promise<StoredRule> {
  const chain = tenantChain(tenant);
  const rows = await ctx.db.selectFrom('fee_rules').selectAll().where('tenant_id', 'in', chain).where('service', '=', service).orderBy('version', 'desc').execute();
  rows.sort((a: any, b: any) => chain.indexOf(a.tenant_id) - chain.indexOf(b.tenant_id));
  if (!rows[0]) throw BillingErrors.feeRuleNotFound();
  return stored(rows[0]);
}

const ruleOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  service: z.string(),
  version: z.number().int(),
  rule: z.record(z.string(), z.unknown()),
  compiled: z.record(z.string(), z.unknown()).describe('JSON Logic per line, penalty (over base, late, daysLate) and rebate (over base, daysBeforeDue): evaluate with the shared evaluator'),
});
const ruleView = (r: StoredRule) => ({ id: r.id, tenantId: r.tenantId, service: r.service, version: r.version, rule: r.rule as Record<string, unknown>, compiled: r.compiled as unknown as Record<string, unknown> });

export function feeConfigOperations(state: BillingState) {
  return {
    defineTaxHead: defineOperation({
      summary: 'Define a tax head of a service (fee, tax, penalty, interest, rebate) with its accounting code',
      permission: P.configManage,
      http: { method: 'POST', path: '/tax-heads' },
      input: z.object({
        tenantId: tenantCode,
        service: serviceCode,
        code: taxHeadCode,
        name: z.string().trim().min(1).max(200),
        category: z.enum(CATEGORIES),
        glCode: z.string().trim().min(1).max(40).describe('the general-ledger account the amounts post to'),
      }),
      output: taxHeadOut,
      async handler(ctx, input) {
        return ctx.transaction(async (tx) => {
          const row = await tx.db
            .insertInto('tax_heads')
            .values({ id: newId('txh'), tenant_id: input.tenantId, service: input.service, code: input.code, name: input.name, category: input.category, gl_code: input.glCode, created_by: ctx.actor.id, created_at: state.now() })
            .onConflict((oc) => oc.columns(['tenant_id', 'service', 'code']).doNothing())
            .returningAll()
            .executeTakeFirst();
          if (!row) throw BillingErrors.taxHeadExists();
          await tx.audit({ action: 'billing.taxhead.defined', entityType: 'billing_tax_head', entityId: row.id, tenantId: input.tenantId, data: { service: input.service, code: input.code, category: input.category, glCode: input.glCode } });
          return taxHeadView(row);
        });
      },
    }),

    listTaxHeads: defineOperation({
      summary: 'Tax heads of a service as a tenant sees them (its own and inherited)',
      permission: P.configRead,
      readsInherited: true,
      http: { method: 'GET', path: '/tax-heads' },
      input: z.object({ tenant: tenantCode, service: serviceCode }),
      output: z.object({ items: z.array(taxHeadOut) }),
      async handler(ctx, input) {
        return { items: [...(await taxHeadsFor(ctx, input.tenant, input.service)).values()].map(taxHeadView) };
      },
    }),

    defineFeeRule: defineOperation({
      summary: 'Store a new version of a service’s fee rule (lines, rebate, penalty, bill validity, partial payments)',
      permission: P.configManage,
      http: { method: 'POST', path: '/fee-rules' },
      input: z.object({ tenantId: tenantCode, service: serviceCode, rule: feeRuleBody }),
      output: ruleOut,
      async handler(ctx, input) {
        const problems = feeRuleProblems(input.rule);
        const heads = await taxHeadsFor(ctx, input.tenantId, input.service);
        const expect = (code: string, path: string, categories: readonly string[]) => {
          const head = heads.get(code);
          if (!head) problems.push({ path, message: `no tax head ${code} for ${input.service}` });
          else if (!categories.includes(head.category)) problems.push({ path, message: `tax head ${code} is a ${head.category}, expected ${categories.join(' or ')}` });
        };
        input.rule.lines.forEach((l, i) => expect(l.taxHead, `body.rule.lines.${i}.taxHead`, ['fee', 'tax']));
        if (input.rule.penalty) expect(input.rule.penalty.taxHead, 'body.rule.penalty.taxHead', ['penalty', 'interest']);
        if (input.rule.rebate) expect(input.rule.rebate.taxHead, 'body.rule.rebate.taxHead', ['rebate']);
        if (problems.length > 0) throw BillingErrors.feeRuleInvalid(problems);
        return ctx.transaction(async (tx) => {
          const last = await tx.db.selectFrom('fee_rules').select((eb) => eb.fn.max('version').as('v')).where('tenant_id', '=', input.tenantId).where('service', '=', input.service).executeTakeFirst();
          const version = Number(last?.v ?? 0) + 1;
          const row = await tx.db
            .insertInto('fee_rules')
            .values({ id: newId('fee'), tenant_id: input.tenantId, service: input.service, version, rule: JSON.stringify(input.rule), created_by: ctx.actor.id, created_at: state.now() })
            .returningAll()
            .executeTakeFirstOrThrow();
          await tx.audit({ action: 'billing.feerule.defined', entityType: 'billing_fee_rule', entityId: row.id, tenantId: input.tenantId, data: { service: input.service, version, rule: input.rule } });
          return ruleView(stored(row));
        });
      },
    }),

    getFeeRule: defineOperation({
      summary: 'The fee rule a tenant uses for a service, with its compiled JSON Logic for the browser',
      permission: P.configRead,
      readsInherited: true,
      http: { method: 'GET', path: '/fee-rules/:service' },
      input: z.object({ tenant: tenantCode, service: serviceCode }),
      output: ruleOut,
      handler: async (ctx, input) => ruleView(await resolveRule(ctx, input.tenant, input.service)),
    }),

    estimateFee: defineOperation({
      summary: 'What a record would be charged: fee lines, and the penalty or rebate at a time against a due time',
      permission: P.configRead,
      readsInherited: true,
      http: { method: 'POST', path: '/fee-rules/:service/estimate', status: 200 },
      input: z.object({
        tenant: tenantCode,
        service: serviceCode,
        data: z.record(z.string(), z.unknown()).default({}),
        dueAt: z.iso.datetime().optional(),
        at: z.iso.datetime().optional(),
      }),
      output: z.object({
        currency: z.string(),
        ruleVersion: z.number().int(),
        lines: z.array(z.object({ taxHead: z.string(), amount: z.number().int() })),
        base: z.number().int(),
        penalty: z.number().int(),
        rebate: z.number().int(),
        total: z.number().int(),
      }),
      async handler(ctx, input) {
        const rule = await resolveRule(ctx, input.tenant, input.service);
        const lines = computeFees(rule.rule, rule.compiled, input.data);
        if (lines.length > 0 && 'path' in lines[0]!) throw BillingErrors.feeInputMissing(lines as any);
        const fees = lines as Array<{ taxHead: string; amount: number }>;
        const base = fees.reduce((s, l) => s + l.amount, 0);
        const at = input.at ? new Date(input.at) : state.now();
        const { penalty, rebate } = input.dueAt ? timeBased(rule.compiled, base, new Date(input.dueAt), at) : { penalty: 0, rebate: 0 };
        return { currency: rule.rule.currency, ruleVersion: rule.version, lines: fees, base, penalty, rebate, total: base + penalty - rebate };
      },
    }),
  };
}
