import { defineOperation, isSevaError, sql, z, type OperationContext } from '../../kernel/index.js';
import { leastLoaded } from './assignment.js';
import { definitionById } from './definitions.js';
import { eligibleEmployees } from './lookups.js';
import { P } from './permissions.js';
import { dueAfter } from './sla.js';
import { applyAction } from './transitions.js';
import { fromJson, systemContext, type WorkflowState } from './workflow-state.js';

const BATCH = 200;

export interface SweepResult {
  breached: number;
  escalated: number;
  processBreached: number;
  automatic: number;
}

/**
 * One pass of the SLA timer (the `slaSweep` job, every minute): state SLA breaches (marked,
 * escalated to the next level, `workflow.sla.breached`), process SLA breaches, and automatic
 * actions whose time has come. Each record changes in its own transaction under a row lock, so
 * concurrent sweeps in several processes never act twice.
 */
export async function sweep(state: WorkflowState, ctx: OperationContext): Promise<SweepResult> {
  const now = state.now();
  const result: SweepResult = { breached: 0, escalated: 0, processBreached: 0, automatic: 0 };

  const due = await ctx.db.selectFrom('processes').select('id').where('status', '=', 'active').where('escalate_at', '<=', now).orderBy('escalate_at').limit(BATCH).execute();
  for (const { id } of due) {
    const outcome = await escalate(state, ctx, String(id), now);
    if (outcome) {
      result.breached += outcome.firstBreach ? 1 : 0;
      result.escalated += outcome.escalated ? 1 : 0;
    }
  }

  const late = await ctx.db
    .selectFrom('processes')
    .select('id')
    .where('status', '=', 'active')
    .where('process_due_at', '<=', now)
    .where('process_breached_at', 'is', null)
    .where('paused_at', 'is', null)
    .limit(BATCH)
    .execute();
  for (const { id } of late) {
    const marked = await ctx.transaction(async (tx) => {
      const row = await tx.db
        .updateTable('processes')
        .set({ process_breached_at: now, updated_at: now })
        .where('id', '=', id)
        .where('process_breached_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!row) return false;
      const facts = { scope: 'process', processId: row.id, service: row.service, businessId: row.business_id, state: row.state, dueAt: new Date(row.process_due_at).toISOString(), level: Number(row.escalation_level) };
      await tx.emit({ name: 'workflow.sla.breached', tenantId: row.tenant_id, payload: facts });
      await tx.audit({ action: 'workflow.sla.breached', entityType: 'workflow_process', entityId: row.id, tenantId: row.tenant_id, data: facts });
      return true;
    });
    if (marked) result.processBreached++;
  }

  // Automatic actions are the platform's, whoever asked for the pass (the job, or an operator).
  const platform = ctx.actor.kind === 'system' ? ctx : systemContext(state, ctx, 'timers');
  const timers = await ctx.db.selectFrom('processes').select(['id', 'timer_action']).where('status', '=', 'active').where('timer_at', '<=', now).limit(BATCH).execute();
  for (const t of timers) {
    try {
      await applyAction(state, platform, { id: String(t.id), action: String(t.timer_action), comment: 'automatic action on timer' });
      result.automatic++;
    } catch (err) {
      // Someone acted first (409), or the guard does not hold: the timer stays for the next pass
      // unless the record moved on, which re-arms or clears it.
      if (!isSevaError(err)) throw err;
      ctx.log.warn({ processId: t.id, code: err.code }, 'automatic action not taken');
      await ctx.db.updateTable('processes').set({ timer_at: null }).where('id', '=', String(t.id)).where('timer_action', '=', String(t.timer_action)).where('timer_at', '<=', now).execute();
    }
  }
  return result;
}

async function escalate(state: WorkflowState, ctx: OperationContext, id: string, now: Date) {
  return ctx.transaction(async (tx) => {
    const row: any = await tx.db.selectFrom('processes').selectAll().where('id', '=', id).where('status', '=', 'active').where('escalate_at', '<=', now).forUpdate().executeTakeFirst();
    if (!row) return undefined;
    const def = await definitionById(state, ctx, row.definition_id);
    const stateDef = def.states.get(row.state)!;
    const level = Number(row.escalation_level);
    const next = stateDef.escalation[level];
    let assignee: string | null = row.assignee ?? null;
    if (next) {
      const boundaries = fromJson<string[]>(row.boundary_path) ?? [];
      const eligible = (await eligibleEmployees(state, ctx, { tenantId: row.tenant_id, role: next.role, designation: next.designation, boundaries })).sort();
      // Nobody at that level: the record stays where it is, but the level still counts.
      if (eligible.length > 0) assignee = await leastLoaded(tx, eligible);
    }
    const more = level + 1 < stateDef.escalation.length;
    await tx.db
      .updateTable('processes')
      .set({
        breached_at: row.breached_at ?? now,
        escalation_level: next ? level + 1 : level,
        escalated_role: next?.role ?? row.escalated_role ?? null,
        // Each level gets the state's SLA again before the next one is asked.
        escalate_at: next && more && stateDef.sla ? await dueAfter(state, ctx, def, row.tenant_id, now, stateDef.sla) : null,
        assignee,
        claimed_by: next ? null : row.claimed_by,
        claimed_at: next ? null : row.claimed_at,
        version: sql`version + 1`,
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
    const facts = {
      scope: 'state',
      processId: id,
      service: row.service,
      businessId: row.business_id,
      state: row.state,
      dueAt: new Date(row.due_at).toISOString(),
      level: next ? level + 1 : level,
      escalatedTo: next ? { role: next.role ?? null, designation: next.designation ?? null, assignee } : null,
    };
    await tx.emit({ name: 'workflow.sla.breached', tenantId: row.tenant_id, payload: facts });
    await tx.audit({ action: next ? 'workflow.process.escalated' : 'workflow.sla.breached', entityType: 'workflow_process', entityId: id, tenantId: row.tenant_id, data: facts });
    return { firstBreach: !row.breached_at, escalated: Boolean(next) };
  });
}

export function timerOperations(state: WorkflowState) {
  return {
    runTimers: defineOperation({
      summary: 'Run one pass of the SLA timer now (the job does it every minute): breaches, escalations, automatic actions',
      permission: P.timersRun,
      http: { method: 'POST', path: '/timers/run', status: 200 },
      input: z.object({}),
      output: z.object({ breached: z.number().int(), escalated: z.number().int(), processBreached: z.number().int(), automatic: z.number().int() }),
      handler: (ctx) => sweep(state, ctx),
    }),
  };
}

export function timerJobs(state: WorkflowState) {
  return {
    slaSweep: {
      schedule: '* * * * *',
      async handler(ctx: OperationContext) {
        await sweep(state, ctx);
      },
    },
  };
}
