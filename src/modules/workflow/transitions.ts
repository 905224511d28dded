import { conditionHolds, defineOperation, newId, sql, z, type FieldProblem, type OperationContext } from '../../kernel/index.js';
import { chooseAssignee } from './assignment.js';
import { definitionById } from './definitions.js';
import { WorkflowErrors } from './errors.js';
import { P } from './permissions.js';
import { attachment } from './processes.js';
import { loadProcess, mayTake, processOut, viewOf, type ProcessOut } from './process-view.js';
import { enterState } from './sla.js';
import { fromJson, type WorkflowState } from './workflow-state.js';

export interface ActionInput {
  id: string;
  action: string;
  /** The version the caller read; absent only for timers, which use the one they just read. */
  version?: number | undefined;
  comment?: string | undefined;
  attachments?: Array<{ fileId: string; documentType?: string | undefined }> | undefined;
  assignee?: string | undefined;
  data?: Record<string, unknown> | undefined;
}

function valueAt(record: unknown, path: string): unknown {
  let at: unknown = record;
  for (const part of path.split('.')) at = at && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined;
  return at;
}

/** A definition's condition over data; one that cannot be evaluated on it does not hold. */
export function holdsOver(condition: unknown, data: unknown): boolean {
  try {
    return conditionHolds(condition, data);
  } catch {
    return false;
  }
}

const empty = (v: unknown) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

/**
 * One action on one process: checks (action from this state, role, claim, version, required
 * fields and documents, guard), then the new state with its SLA, timers and assignee, the
 * history row, the event and the audit entry, all in one transaction. The update is conditional
 * on the version read, so of two employees acting at once exactly one wins; the other gets 409.
 */
export async function applyAction(state: WorkflowState, ctx: OperationContext, input: ActionInput): Promise<ProcessOut> {
  const row = await loadProcess(ctx, input.id);
  if (row.status !== 'active') throw WorkflowErrors.processClosed();
  const expected = input.version ?? Number(row.version);
  if (expected !== Number(row.version)) throw WorkflowErrors.staleVersion();
  const def = await definitionById(state, ctx, String(row.definition_id));
  const action = (def.actionsFrom.get(row.state) ?? []).find((a) => a.name === input.action);
  if (!action) throw WorkflowErrors.actionUnknown(input.action, row.state);
  if (!mayTake(ctx.actor, def, row, action)) throw WorkflowErrors.actionNotAllowed(action.name);
  if (row.claimed_by && row.claimed_by !== ctx.actor.id && ctx.actor.kind !== 'system') throw WorkflowErrors.claimedByOther(row.claimed_by);

  const record = { ...fromJson<Record<string, unknown>>(row.record), ...(input.data ?? {}) };
  const attachments = input.attachments ?? [];
  const problems: FieldProblem[] = action.requiredFields.filter((f) => empty(valueAt(record, f))).map((f) => ({ path: `body.data.${f}`, message: `required by ${action.name}` }));
  if (action.requiredDocuments.length > 0) {
    const earlier = await ctx.db.selectFrom('transitions').select('attachments').where('process_id', '=', row.id).execute();
    const types = new Set([...earlier.flatMap((t) => fromJson<Array<{ documentType?: string }>>(t.attachments)), ...attachments].map((a) => a.documentType));
    for (const doc of action.requiredDocuments) if (!types.has(doc)) problems.push({ path: 'body.attachments', message: `a ${doc} document is required by ${action.name}` });
  }
  if (problems.length > 0) throw WorkflowErrors.requirementsMissing(problems);
  if (!holdsOver(action.guard, record)) throw WorkflowErrors.guardFailed(action.name);

  const target = def.states.get(action.to)!;
  const now = state.now();
  const before = { process_due_at: row.process_due_at ? new Date(row.process_due_at) : null, paused_at: row.paused_at ? new Date(row.paused_at) : null };
  const entry = await enterState(state, ctx, def, row.tenant_id, target, now, before);
  const boundaryPath = fromJson<string[]>(row.boundary_path) ?? [];
  const updated = await ctx.transaction(async (tx) => {
    const assignee = await chooseAssignee(state, ctx, tx, target, { tenantId: row.tenant_id, service: row.service, boundaryPath }, input.assignee);
    tx.insertLater('transitions', {
      id: newId('wft'),
      process_id: row.id,
      tenant_id: row.tenant_id,
      service: row.service,
      seq: sql`(select coalesce(max(seq), 0) + 1 from workflow.transitions where process_id = ${row.id})`,
      action: action.name,
      from_state: row.state,
      to_state: target.name,
      actor_id: ctx.actor.id,
      comment: input.comment ?? null,
      attachments: JSON.stringify(attachments),
      assignee,
      state_entered_at: row.state_entered_at,
      state_due_at: row.due_at ?? null,
      at: now,
    });
    const facts = {
      processId: row.id,
      service: row.service,
      businessId: row.business_id,
      action: action.name,
      before: { state: row.state, assignee: row.assignee ?? null, version: expected },
      after: { state: target.name, status: entry.status, assignee, version: expected + 1 },
      actorId: ctx.actor.id,
    };
    await tx.emit({ name: 'workflow.process.transitioned', tenantId: row.tenant_id, payload: facts });
    await tx.audit({ action: 'workflow.process.transitioned', entityType: 'workflow_process', entityId: row.id, tenantId: row.tenant_id, data: facts });
    // The update, its history row, event and audit entry: one statement, all or nothing.
    const [next] = await tx.lastWrite(
      tx.db
        .updateTable('processes')
        .set({ ...entry, record: JSON.stringify(record), assignee, claimed_by: null, claimed_at: null, version: sql`version + 1`, updated_at: now })
        .where('id', '=', row.id)
        .where('version', '=', expected)
        .returningAll(),
      () => WorkflowErrors.staleVersion(),
    );
    return next;
  });
  return viewOf(state, ctx, updated);
}

export function transitionOperations(state: WorkflowState) {
  return {
    takeAction: defineOperation({
      summary: 'Take an action on a process (with comment, attachments, assignee, data); `version` must be the one last read',
      permission: P.transition,
      http: { method: 'POST', path: '/processes/:id/actions', status: 200 },
      input: z.object({
        id: z.string().min(1).max(64),
        action: z.string().min(1).max(61),
        version: z.number().int().min(1),
        comment: z.string().max(4000).optional(),
        attachments: z.array(attachment).max(50).default([]),
        assignee: z.string().min(1).max(64).optional(),
        data: z.record(z.string(), z.unknown()).optional().describe('Fields merged into the record before the checks'),
      }),
      output: processOut,
      handler: (ctx, input) => applyAction(state, ctx, input),
    }),
  };
}
