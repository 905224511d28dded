import { defineOperation, sql, z } from '../../kernel/index.js';
import { serviceCode } from './definition-schema.js';
import { tenantCode } from './definitions.js';
import { P } from './permissions.js';
import type { WorkflowState } from './workflow-state.js';

const stateFigure = z.object({
  service: z.string(),
  state: z.string(),
  stays: z.number().int().describe('Stays in the state that ended in the period'),
  averageMs: z.number().nullable(),
  withSla: z.number().int(),
  breached: z.number().int().describe('Stays that ended after their due time'),
  compliance: z.number().nullable().describe('Share of stays with an SLA that ended in time, 0–1'),
});
const processFigure = z.object({
  service: z.string(),
  active: z.number().int(),
  activeBreached: z.number().int(),
  closed: z.number().int(),
  closedBreached: z.number().int(),
  averageClosedMs: z.number().nullable(),
});

/** SLA figures per state (from the history) and per process (from the records), for analytics. */
export function figureOperations(state: WorkflowState) {
  return {
    slaFigures: defineOperation({
      summary: 'SLA figures of a tenant: per state (stays, average time, breaches) and per process (active, closed, breached)',
      permission: P.slaRead,
      http: { method: 'GET', path: '/sla/figures' },
      input: z.object({ tenant: tenantCode, service: serviceCode.optional(), from: z.iso.datetime().optional(), to: z.iso.datetime().optional() }),
      output: z.object({ states: z.array(stateFigure), processes: z.array(processFigure) }),
      async handler(ctx, input) {
        const to = input.to ? new Date(input.to) : state.now();
        const from = input.from ? new Date(input.from) : new Date(to.getTime() - 30 * 86_400_000);
        let stays = ctx.db
          .selectFrom('transitions')
          .select([
            'service',
            'from_state',
            sql<number>`count(*)`.as('stays'),
            sql<number>`avg(extract(epoch from (at - state_entered_at)) * 1000)`.as('avg_ms'),
            sql<number>`count(state_due_at)`.as('with_sla'),
            sql<number>`count(*) filter (where at > state_due_at)`.as('breached'),
          ])
          .where('tenant_id', '=', input.tenant)
          .where('from_state', 'is not', null)
          .where('at', '>=', from)
          .where('at', '<=', to)
          .groupBy(['service', 'from_state'])
          .orderBy('service')
          .orderBy('from_state');
        if (input.service) stays = stays.where('service', '=', input.service);
        let processes = ctx.db
          .selectFrom('processes')
          .select([
            'service',
            sql<number>`count(*) filter (where status = 'active')`.as('active'),
            sql<number>`count(*) filter (where status = 'active' and (process_breached_at is not null or breached_at is not null))`.as('active_breached'),
            sql<number>`count(*) filter (where status = 'closed' and closed_at >= ${from} and closed_at <= ${to})`.as('closed'),
            sql<number>`count(*) filter (where status = 'closed' and closed_at >= ${from} and closed_at <= ${to} and process_breached_at is not null)`.as('closed_breached'),
            sql<number>`avg(extract(epoch from (closed_at - created_at)) * 1000) filter (where status = 'closed' and closed_at >= ${from} and closed_at <= ${to})`.as('avg_closed_ms'),
          ])
          .where('tenant_id', '=', input.tenant)
          .groupBy('service')
          .orderBy('service');
        if (input.service) processes = processes.where('service', '=', input.service);
        const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
        return {
          states: (await stays.execute()).map((r: any) => {
            const withSla = Number(r.with_sla);
            return {
              service: r.service,
              state: r.from_state,
              stays: Number(r.stays),
              averageMs: num(r.avg_ms),
              withSla,
              breached: Number(r.breached),
              compliance: withSla > 0 ? (withSla - Number(r.breached)) / withSla : null,
            };
          }),
          processes: (await processes.execute()).map((r: any) => ({
            service: r.service,
            active: Number(r.active),
            activeBreached: Number(r.active_breached),
            closed: Number(r.closed),
            closedBreached: Number(r.closed_breached),
            averageClosedMs: num(r.avg_closed_ms),
          })),
        };
      },
    }),
  };
}
