import { tenantCovers, z, type Actor, type OperationContext } from '../../kernel/index.js';
import type { ActionDef, Definition } from './definition-schema.js';
import { definitionById } from './definitions.js';
import { WorkflowErrors } from './errors.js';
import { SYSTEM_ROLE } from './permissions.js';
import { slaStatus } from './sla.js';
import { fromJson, iso, isoOrNull, type WorkflowState } from './workflow-state.js';

export const processOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  service: z.string(),
  businessId: z.string(),
  definition: z.object({ id: z.string(), code: z.string(), version: z.number().int() }),
  state: z.string(),
  status: z.enum(['active', 'closed']),
  boundary: z.string().nullable(),
  record: z.record(z.string(), z.unknown()),
  assignee: z.string().nullable(),
  claimedBy: z.string().nullable(),
  version: z.number().int().describe('Send it back with an action: a stale one is 409'),
  sla: z.object({
    status: z.enum(['breached', 'dueToday', 'dueSoon', 'onTrack', 'none']),
    stateDueAt: z.string().nullable(),
    stateRemainingMs: z.number().nullable().describe('Negative once breached'),
    breachedAt: z.string().nullable(),
    escalationLevel: z.number().int(),
    processDueAt: z.string().nullable(),
    processRemainingMs: z.number().nullable(),
    processBreachedAt: z.string().nullable(),
    paused: z.boolean(),
  }),
  actions: z.array(z.string()).describe('The actions the caller may take now'),
  createdAt: z.string(),
  updatedAt: z.string(),
  closedAt: z.string().nullable(),
});
export type ProcessOut = z.input<typeof processOut>;

/** The row, or 404 when it is unknown or in a tenant outside the actor's. */
export async function loadProcess(ctx: OperationContext, id: string): Promise<any> {
  const row = await ctx.db.selectFrom('processes').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !visibleTo(ctx.actor, String(row.tenant_id))) throw WorkflowErrors.processNotFound();
  return row;
}

export function visibleTo(actor: Actor, tenant: string): boolean {
  return actor.kind === 'system' || (!!actor.tenantId && tenantCovers(actor.tenantId, tenant));
}

/**
 * Whether the actor may take `action` on the record: one of the action's roles; or, once the
 * record is escalated, the roles of the levels reached and the employee it was escalated to.
 * Timers act as the platform; SYSTEM-only actions are theirs alone.
 */
export function mayTake(actor: Actor, def: Definition, row: any, action: ActionDef): boolean {
  if (actor.kind === 'system') return true;
  if (action.roles.some((r) => r !== SYSTEM_ROLE && actor.roles.includes(r))) return true;
  if (action.roles.every((r) => r === SYSTEM_ROLE)) return false;
  const level = Number(row.escalation_level);
  if (level > 0) {
    const reached = (def.states.get(row.state)?.escalation ?? []).slice(0, level);
    if (reached.some((l) => l.role && actor.roles.includes(l.role))) return true;
    if (row.assignee === actor.id) return true;
  }
  return false;
}

export async function viewOf(state: WorkflowState, ctx: OperationContext, row: any): Promise<ProcessOut> {
  const def = await definitionById(state, ctx, String(row.definition_id));
  const now = state.now();
  const due = row.due_at ? new Date(row.due_at) : null;
  const processDue = row.process_due_at ? new Date(row.process_due_at) : null;
  const actions = row.status === 'active' ? (def.actionsFrom.get(row.state) ?? []).filter((a) => mayTake(ctx.actor, def, row, a)).map((a) => a.name) : [];
  return {
    id: row.id,
    tenantId: row.tenant_id,
    service: row.service,
    businessId: row.business_id,
    definition: { id: def.id, code: def.code, version: def.version },
    state: row.state,
    status: row.status,
    boundary: row.boundary ?? null,
    record: fromJson<Record<string, unknown>>(row.record),
    assignee: row.assignee ?? null,
    claimedBy: row.claimed_by ?? null,
    version: Number(row.version),
    sla: {
      status: row.status === 'active' ? slaStatus(due, now) : 'none',
      stateDueAt: isoOrNull(due),
      stateRemainingMs: due ? due.getTime() - now.getTime() : null,
      breachedAt: isoOrNull(row.breached_at),
      escalationLevel: Number(row.escalation_level),
      processDueAt: isoOrNull(processDue),
      // While paused the process clock stands still at what was left when it stopped.
      processRemainingMs: processDue ? processDue.getTime() - (row.paused_at ? new Date(row.paused_at) : now).getTime() : null,
      processBreachedAt: isoOrNull(row.process_breached_at),
      paused: row.paused_at !== null && row.paused_at !== undefined,
    },
    actions,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    closedAt: isoOrNull(row.closed_at),
  };
}
