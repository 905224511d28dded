import { sql, type OperationContext, type TxContext } from '../../kernel/index.js';
import type { StateDef } from './definition-schema.js';
import { WorkflowErrors } from './errors.js';
import { eligibleEmployees } from './lookups.js';
import type { WorkflowState } from './workflow-state.js';

interface Where {
  tenantId: string;
  service: string;
  boundaryPath: string[];
}

/**
 * Who a record is given on entering `target`: the explicit assignee (who must be eligible when the
 * state names a role), or by the state's rule among employees with the role whose jurisdiction
 * covers the record: round-robin (a cursor per pool) or least-loaded (fewest active records).
 * Nobody (null) leaves it to everyone with the role in its inbox.
 */
export async function chooseAssignee(state: WorkflowState, ctx: OperationContext, tx: TxContext, target: StateDef, where: Where, explicit?: string | null): Promise<string | null> {
  const rule = target.assignment;
  if (target.terminal) return null;
  if (explicit) {
    if (rule) {
      const eligible = await eligibleEmployees(state, ctx, { tenantId: where.tenantId, role: rule.role, boundaries: where.boundaryPath });
      if (!eligible.includes(explicit)) throw WorkflowErrors.assigneeNotEligible();
    }
    return explicit;
  }
  if (!rule || rule.strategy === 'explicit') return null;
  const eligible = (await eligibleEmployees(state, ctx, { tenantId: where.tenantId, role: rule.role, boundaries: where.boundaryPath })).sort();
  if (eligible.length === 0) return null;
  if (rule.strategy === 'least-loaded') return leastLoaded(tx, eligible);
  return roundRobin(tx, where.tenantId, `${where.service}|${target.name}|${rule.role}|${where.boundaryPath[0] ?? '*'}`, eligible);
}

export async function leastLoaded(tx: TxContext, eligible: string[]): Promise<string> {
  const rows = await tx.db
    .selectFrom('processes')
    .select(['assignee', sql<number>`count(*)`.as('n')])
    .where('status', '=', 'active')
    .where('assignee', 'in', eligible)
    .groupBy('assignee')
    .execute();
  const load = new Map(rows.map((r) => [String(r.assignee), Number(r.n)]));
  return eligible.reduce((best, id) => ((load.get(id) ?? 0) < (load.get(best) ?? 0) ? id : best), eligible[0]!);
}

async function roundRobin(tx: TxContext, tenantId: string, pool: string, eligible: string[]): Promise<string> {
  // Serialises takers of one pool, so two records at once go to two people.
  await sql`select pg_advisory_xact_lock(hashtext(${`workflow.rr|${tenantId}|${pool}`}))`.execute(tx.db);
  const last = await tx.db.selectFrom('assignment_cursors').select('last_assignee').where('tenant_id', '=', tenantId).where('pool', '=', pool).executeTakeFirst();
  const next = eligible.find((id) => !last || id > String(last.last_assignee)) ?? eligible[0]!;
  await tx.db
    .insertInto('assignment_cursors')
    .values({ tenant_id: tenantId, pool, last_assignee: next })
    .onConflict((oc) => oc.columns(['tenant_id', 'pool']).doUpdateSet({ last_assignee: next }))
    .execute();
  return next;
}
