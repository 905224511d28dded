import { defineOperation, sql, z, type OperationContext, type RawBuilder } from '../../kernel/index.js';
import { serviceCode } from './definition-schema.js';
import { tenantCode, visibleDefinitions } from './definitions.js';
import { WorkflowErrors } from './errors.js';
import { jurisdictionOf } from './lookups.js';
import { P, SYSTEM_ROLE } from './permissions.js';
import { DUE_SOON_MS, endOfDay, slaStatus } from './sla.js';
import { fromJson, iso, isoOrNull, tenantChain, type WorkflowState } from './workflow-state.js';

const SLA = ['breached', 'dueToday', 'dueSoon', 'onTrack', 'none'] as const;

const item = z.object({
  id: z.string(),
  service: z.string(),
  businessId: z.string(),
  state: z.string(),
  boundary: z.string().nullable(),
  assignee: z.string().nullable(),
  claimedBy: z.string().nullable(),
  dueAt: z.string().nullable(),
  remainingMs: z.number().nullable(),
  slaStatus: z.enum(SLA),
  escalationLevel: z.number().int(),
  version: z.number().int(),
  createdAt: z.string(),
});
const count = z.object({ value: z.string(), count: z.number().int() });

interface Cursor {
  d: string | null;
  i: string;
}
const encode = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
function decode(text: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (typeof c.i === 'string' && (c.d === null || !Number.isNaN(Date.parse(c.d)))) return c;
  } catch {
    // falls through to the error below
  }
  throw WorkflowErrors.cursorInvalid();
}

/** A boundary filter through the tenant-qualified GIN index (`scoped_boundaries`), which also pins the tenant. */
function inBoundaries(tenant: string, boundaries: string[]): RawBuilder<boolean> {
  return sql<boolean>`workflow.scoped_boundaries(tenant_id, boundary_path) && ${boundaries.map((b) => `${tenant}/${b}`)}::text[]`;
}

/**
 * The "may act here" part of the inbox: the states where one of the actor's roles has an action
 * (over every definition version the tenant's records run on), or records escalated to one of
 * its roles or given to it; within its jurisdiction (boundary codes, or the tenant code for all
 * of it); not claimed by someone else.
 */
async function mayActWhere(state: WorkflowState, ctx: OperationContext, tenant: string, boundary: string | undefined): Promise<RawBuilder<boolean>[]> {
  const me = ctx.actor.id;
  const where: RawBuilder<boolean>[] = [sql<boolean>`status = 'active'`];
  // The jurisdiction (or the boundary asked for) narrows by a key that holds the tenant, so the
  // plain tenant condition is left out there: with it, the planner also reads the tenant's whole
  // index and intersects, which costs more than the boundary lookup itself.
  let scoped = false;
  if (boundary) {
    where.push(inBoundaries(tenant, [boundary]));
    scoped = true;
  }
  if (ctx.actor.kind !== 'system') {
    where.push(sql<boolean>`(claimed_by is null or claimed_by = ${me})`);
    const roles = ctx.actor.roles.filter((r) => r !== SYSTEM_ROLE);
    const pairs: RawBuilder<unknown>[] = [];
    for (const def of await visibleDefinitions(state, ctx, tenant)) {
      for (const [from, actions] of def.actionsFrom) if (actions.some((a) => a.roles.some((r) => roles.includes(r)))) pairs.push(sql`(${def.id}, ${from})`);
    }
    const may: RawBuilder<boolean>[] = [sql<boolean>`assignee = ${me}`];
    if (pairs.length > 0) may.push(sql<boolean>`(definition_id, state) in (${sql.join(pairs)})`);
    if (roles.length > 0) may.push(sql<boolean>`escalated_role = any(${roles}::text[])`);
    where.push(sql<boolean>`(${sql.join(may, sql` or `)})`);
    const jurisdiction = await jurisdictionOf(state, ctx, me);
    const chain = tenantChain(tenant);
    if (!jurisdiction.some((j) => chain.includes(j))) {
      // Alone (no "or assigned to me"), so the GIN index drives the query: assignment and
      // escalation only ever pick employees whose jurisdiction covers the record.
      if (jurisdiction.length > 0) {
        where.push(inBoundaries(tenant, jurisdiction));
        scoped = true;
      } else where.push(sql<boolean>`assignee = ${me}`);
    }
  }
  if (!scoped) where.push(sql<boolean>`tenant_id = ${tenant}`);
  return where;
}

function slaCase(now: Date): RawBuilder<string> {
  return sql<string>`case when due_at is null then 'none' when due_at <= ${now} then 'breached' when due_at < ${endOfDay(now)} then 'dueToday' when due_at <= ${new Date(now.getTime() + DUE_SOON_MS)} then 'dueSoon' else 'onTrack' end`;
}

function slaWhere(status: (typeof SLA)[number], now: Date): RawBuilder<boolean> {
  const eod = endOfDay(now);
  const soon = new Date(now.getTime() + DUE_SOON_MS);
  switch (status) {
    case 'none':
      return sql<boolean>`due_at is null`;
    case 'breached':
      return sql<boolean>`due_at <= ${now}`;
    case 'dueToday':
      return sql<boolean>`(due_at > ${now} and due_at < ${eod})`;
    case 'dueSoon':
      return sql<boolean>`(due_at >= ${eod} and due_at > ${now} and due_at <= ${soon})`;
    default:
      return sql<boolean>`(due_at > ${soon} and due_at >= ${eod})`;
  }
}

export function inboxOperations(state: WorkflowState) {
  return {
    inbox: defineOperation({
      summary: 'An employee’s inbox: records where they may act, filtered, sorted by due time, with counts per facet and a cursor',
      permission: P.inbox,
      http: { method: 'GET', path: '/inbox' },
      input: z.object({
        tenant: tenantCode,
        service: serviceCode.optional(),
        state: z.string().max(61).optional(),
        slaStatus: z.enum(SLA).optional(),
        assignee: z.string().min(1).max(64).optional().describe('`me`, `unassigned`, or an employee id'),
        boundary: z.string().min(1).max(100).optional().describe('Only records in this boundary (or below it)'),
        limit: z.coerce.number().int().min(1).max(100).default(20),
        cursor: z.string().max(500).optional(),
      }),
      output: z.object({
        items: z.array(item),
        nextCursor: z.string().nullable(),
        facets: z.object({ state: z.array(count), service: z.array(count), slaStatus: z.array(count) }),
      }),
      async handler(ctx, input) {
        const now = state.now();
        const base = await mayActWhere(state, ctx, input.tenant, input.boundary);
        if (input.assignee === 'me') base.push(sql<boolean>`assignee = ${ctx.actor.id}`);
        else if (input.assignee === 'unassigned') base.push(sql<boolean>`assignee is null`);
        else if (input.assignee) base.push(sql<boolean>`assignee = ${input.assignee}`);
        // Facets count what the caller may act on; the page also applies the filters and the cursor.
        const page: RawBuilder<boolean>[] = [sql<boolean>`true`];
        if (input.service) page.push(sql<boolean>`service = ${input.service}`);
        if (input.state) page.push(sql<boolean>`state = ${input.state}`);
        if (input.slaStatus) page.push(slaWhere(input.slaStatus, now));
        if (input.cursor) {
          const c = decode(input.cursor);
          // Keyset over (due_at asc nulls last, id): rows after the cursor's.
          page.push(
            c.d === null
              ? sql<boolean>`(due_at is null and id > ${c.i})`
              : sql<boolean>`(due_at > ${new Date(c.d)} or (due_at = ${new Date(c.d)} and id > ${c.i}) or due_at is null)`,
          );
        }
        // One pass over the visible records feeds both the page and the facets; the page's other
        // columns are read for its rows only.
        const rows = (
          await sql<any>`with mine as materialized (
              select id, state, service, due_at from workflow.processes where ${sql.join(base, sql` and `)}
            ), page as (
              select id from mine where ${sql.join(page, sql` and `)} order by due_at asc nulls last, id asc limit ${input.limit + 1}
            ), facets as (
              select coalesce(json_agg(json_build_object('state', state, 'service', service, 'sla', sla, 'n', n)), '[]'::json) as facets
              from (select state, service, sla, count(*) as n from (select state, service, ${slaCase(now)} as sla from mine) m
                    group by grouping sets ((state), (service), (sla))) f
            )
            select f.facets, p.id, p.service, p.business_id, p.state, p.boundary, p.assignee, p.claimed_by, p.due_at, p.escalation_level, p.version, p.created_at
            from facets f left join (page join workflow.processes p using (id)) on true
            order by p.due_at asc nulls last, p.id asc`.execute(ctx.db)
        ).rows;
        const facetRows: Array<Record<string, unknown>> = fromJson<Array<Record<string, unknown>> | null>(rows[0]?.facets ?? null) ?? [];
        const found = rows.filter((r) => r.id !== null);
        const items = found.slice(0, input.limit).map((r) => {
          const due = r.due_at ? new Date(r.due_at) : null;
          return {
            id: r.id,
            service: r.service,
            businessId: r.business_id,
            state: r.state,
            boundary: r.boundary ?? null,
            assignee: r.assignee ?? null,
            claimedBy: r.claimed_by ?? null,
            dueAt: isoOrNull(due),
            remainingMs: due ? due.getTime() - now.getTime() : null,
            slaStatus: slaStatus(due, now),
            escalationLevel: Number(r.escalation_level),
            version: Number(r.version),
            createdAt: iso(r.created_at),
          };
        });
        const last = items[items.length - 1];
        const facet = (key: 'state' | 'service' | 'sla') =>
          facetRows
            .filter((f) => f[key] !== null && ['state', 'service', 'sla'].filter((k) => k !== key).every((k) => f[k] === null))
            .map((f) => ({ value: String(f[key]), count: Number(f.n) }))
            .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
        return {
          items,
          nextCursor: found.length > input.limit && last ? encode({ d: last.dueAt, i: last.id }) : null,
          facets: { state: facet('state'), service: facet('service'), slaStatus: facet('sla') },
        };
      },
    }),
  };
}
