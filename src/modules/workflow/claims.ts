import { defineOperation, sql, z, type OperationContext } from '../../kernel/index.js';
import { definitionById } from './definitions.js';
import { WorkflowErrors } from './errors.js';
import { P } from './permissions.js';
import { loadProcess, mayTake, processOut, viewOf } from './process-view.js';
import type { WorkflowState } from './workflow-state.js';

/**
 * Assignment locking, as in OpenCRVS: an employee who may act claims the record; nobody else can
 * act on it until the claimer releases it, it moves on, or a supervisor reassigns it.
 */
async function changeClaim(
  state: WorkflowState,
  ctx: OperationContext,
  id: string,
  version: number | undefined,
  what: 'claimed' | 'released' | 'reassigned',
  decide: (row: any) => Promise<{ claimed_by: string | null; assignee: string | null }>,
) {
  const row = await loadProcess(ctx, id);
  if (row.status !== 'active') throw WorkflowErrors.processClosed();
  const expected = version ?? Number(row.version);
  if (expected !== Number(row.version)) throw WorkflowErrors.staleVersion();
  const change = await decide(row);
  const now = state.now();
  const updated = await ctx.transaction(async (tx) => {
    const next = await tx.db
      .updateTable('processes')
      .set({ ...change, claimed_at: change.claimed_by ? now : null, version: sql`version + 1`, updated_at: now })
      .where('id', '=', id)
      .where('version', '=', expected)
      .returningAll()
      .executeTakeFirst();
    if (!next) throw WorkflowErrors.staleVersion();
    const facts = { processId: id, before: { claimedBy: row.claimed_by ?? null, assignee: row.assignee ?? null }, after: { claimedBy: change.claimed_by, assignee: change.assignee } };
    if (what === 'reassigned') await tx.emit({ name: 'workflow.process.assigned', tenantId: row.tenant_id, payload: { ...facts, by: ctx.actor.id } });
    await tx.audit({ action: `workflow.process.${what}`, entityType: 'workflow_process', entityId: id, tenantId: row.tenant_id, data: facts });
    return next;
  });
  return viewOf(state, ctx, updated);
}

const byId = z.object({ id: z.string().min(1).max(64), version: z.number().int().min(1).optional() });

export function claimOperations(state: WorkflowState) {
  return {
    claimProcess: defineOperation({
      summary: 'Claim a record: others cannot act on it until it is released, moves on, or is reassigned',
      permission: P.claim,
      http: { method: 'POST', path: '/processes/:id/claim', status: 200 },
      input: byId,
      output: processOut,
      handler: (ctx, input) =>
        changeClaim(state, ctx, input.id, input.version, 'claimed', async (row) => {
          if (row.claimed_by && row.claimed_by !== ctx.actor.id) throw WorkflowErrors.claimedByOther(row.claimed_by);
          const def = await definitionById(state, ctx, row.definition_id);
          const actions = def.actionsFrom.get(row.state) ?? [];
          if (!actions.some((a) => mayTake(ctx.actor, def, row, a))) throw WorkflowErrors.actionNotAllowed(actions.map((a) => a.name).join('|') || row.state);
          return { claimed_by: ctx.actor.id, assignee: ctx.actor.id };
        }),
    }),

    releaseProcess: defineOperation({
      summary: 'Release one’s claim on a record',
      permission: P.claim,
      http: { method: 'POST', path: '/processes/:id/release', status: 200 },
      input: byId,
      output: processOut,
      handler: (ctx, input) =>
        changeClaim(state, ctx, input.id, input.version, 'released', async (row) => {
          if (row.claimed_by !== ctx.actor.id) throw WorkflowErrors.notClaimer();
          return { claimed_by: null, assignee: row.assignee ?? null };
        }),
    }),

    reassignProcess: defineOperation({
      summary: 'A supervisor gives a record to another employee (or to nobody), lifting any claim',
      permission: P.reassign,
      http: { method: 'POST', path: '/processes/:id/reassign', status: 200 },
      input: byId.extend({ assignee: z.string().min(1).max(64).nullable() }),
      output: processOut,
      handler: (ctx, input) => changeClaim(state, ctx, input.id, input.version, 'reassigned', async () => ({ claimed_by: null, assignee: input.assignee })),
    }),
  };
}
