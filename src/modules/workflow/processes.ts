import { defineOperation, newId, z } from '../../kernel/index.js';
import { chooseAssignee } from './assignment.js';
import { serviceCode } from './definition-schema.js';
import { dueAfter, enterState } from './sla.js';
import { resolveDefinition, tenantCode } from './definitions.js';
import { WorkflowErrors } from './errors.js';
import { boundaryPathOf } from './lookups.js';
import { P } from './permissions.js';
import { loadProcess, processOut, viewOf } from './process-view.js';
import { fromJson, iso, isoOrNull, type WorkflowState } from './workflow-state.js';

export const attachment = z.object({ fileId: z.string().min(1).max(64), documentType: z.string().min(1).max(100).optional() });
const recordData = z.record(z.string(), z.unknown());

const transitionOut = z.object({
  seq: z.number().int(),
  action: z.string().nullable(),
  fromState: z.string().nullable(),
  toState: z.string(),
  actorId: z.string(),
  comment: z.string().nullable(),
  attachments: z.array(attachment),
  assignee: z.string().nullable(),
  stateEnteredAt: z.string().nullable(),
  stateDueAt: z.string().nullable(),
  at: z.string(),
});

export function processOperations(state: WorkflowState) {
  return {
    startProcess: defineOperation({
      summary: 'Start a process for a record (an application, a complaint) on the workflow its tenant sees',
      permission: P.start,
      http: { method: 'POST', path: '/processes' },
      input: z.object({
        tenantId: tenantCode,
        service: serviceCode.describe('The workflow code'),
        businessId: z.string().min(1).max(100).describe('The record’s number in its own module'),
        boundary: z.string().min(1).max(100).optional().describe('The boundary the record lies in (routing, jurisdiction)'),
        record: recordData.default({}),
        assignee: z.string().min(1).max(64).optional(),
        comment: z.string().max(4000).optional(),
        attachments: z.array(attachment).max(50).default([]),
      }),
      output: processOut,
      async handler(ctx, input) {
        const def = await resolveDefinition(state, ctx, input.tenantId, input.service);
        const start = def.body.states.find((s) => s.start)!;
        let boundaryPath: string[] = [];
        if (input.boundary) {
          boundaryPath = (await boundaryPathOf(state, ctx, input.tenantId, def.body.boundaryHierarchy, input.boundary)) ?? [];
          if (boundaryPath.length === 0) throw WorkflowErrors.boundaryUnknown();
        }
        const now = state.now();
        const processDue = def.body.sla ? await dueAfter(state, ctx, def, input.tenantId, now, def.body.sla) : null;
        const entry = await enterState(state, ctx, def, input.tenantId, start, now, { process_due_at: processDue, paused_at: null });
        const id = newId('wfp');
        const row = await ctx.transaction(async (tx) => {
          const assignee = await chooseAssignee(state, ctx, tx, start, { tenantId: input.tenantId, service: def.code, boundaryPath }, input.assignee);
          const inserted = await tx.db
            .insertInto('processes')
            .values({
              id,
              tenant_id: input.tenantId,
              definition_id: def.id,
              service: def.code,
              business_id: input.businessId,
              boundary: input.boundary ?? null,
              boundary_path: boundaryPath,
              record: JSON.stringify(input.record),
              assignee,
              ...entry,
              version: 1,
              created_by: ctx.actor.id,
              created_at: now,
              updated_at: now,
            })
            .onConflict((oc) => oc.columns(['tenant_id', 'service', 'business_id']).doNothing())
            .returningAll()
            .executeTakeFirst();
          if (!inserted) throw WorkflowErrors.processExists();
          await tx.db
            .insertInto('transitions')
            .values({
              id: newId('wft'),
              process_id: id,
              tenant_id: input.tenantId,
              service: def.code,
              seq: 1,
              action: null,
              from_state: null,
              to_state: start.name,
              actor_id: ctx.actor.id,
              comment: input.comment ?? null,
              attachments: JSON.stringify(input.attachments),
              assignee,
              at: now,
            })
            .execute();
          const facts = { processId: id, service: def.code, businessId: input.businessId, definition: { code: def.code, version: def.version }, state: start.name, assignee };
          await tx.emit({ name: 'workflow.process.started', tenantId: input.tenantId, payload: facts });
          await tx.audit({ action: 'workflow.process.started', entityType: 'workflow_process', entityId: id, tenantId: input.tenantId, data: facts });
          return inserted;
        });
        return viewOf(state, ctx, row);
      },
    }),

    getProcess: defineOperation({
      summary: 'A process: its state, assignee, claim, SLA due and remaining time, and the actions the caller may take',
      permission: P.read,
      http: { method: 'GET', path: '/processes/:id' },
      input: z.object({ id: z.string().min(1).max(64) }),
      output: processOut,
      handler: async (ctx, input) => viewOf(state, ctx, await loadProcess(ctx, input.id)),
    }),

    findProcess: defineOperation({
      summary: 'The process of a record, by service and business id',
      permission: P.read,
      http: { method: 'GET', path: '/processes' },
      input: z.object({ tenant: tenantCode, service: serviceCode, businessId: z.string().min(1).max(100) }),
      output: processOut,
      async handler(ctx, input) {
        const row = await ctx.db.selectFrom('processes').selectAll().where('tenant_id', '=', input.tenant).where('service', '=', input.service).where('business_id', '=', input.businessId).executeTakeFirst();
        if (!row) throw WorkflowErrors.processNotFound();
        return viewOf(state, ctx, row);
      },
    }),

    processHistory: defineOperation({
      summary: 'Every transition of a process, oldest first, with actor, comment, attachments and the SLA of the state it left',
      permission: P.read,
      http: { method: 'GET', path: '/processes/:id/history' },
      input: z.object({ id: z.string().min(1).max(64) }),
      output: z.object({ items: z.array(transitionOut) }),
      async handler(ctx, input) {
        await loadProcess(ctx, input.id);
        const rows = await ctx.db.selectFrom('transitions').selectAll().where('process_id', '=', input.id).orderBy('seq').execute();
        return {
          items: rows.map((r: any) => ({
            seq: Number(r.seq),
            action: r.action ?? null,
            fromState: r.from_state ?? null,
            toState: r.to_state,
            actorId: r.actor_id,
            comment: r.comment ?? null,
            attachments: fromJson<Array<{ fileId: string; documentType?: string }>>(r.attachments),
            assignee: r.assignee ?? null,
            stateEnteredAt: isoOrNull(r.state_entered_at),
            stateDueAt: isoOrNull(r.state_due_at),
            at: iso(r.at),
          })),
        };
      },
    }),
  };
}
