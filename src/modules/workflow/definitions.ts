import { defineOperation, newId, sql, z, type OperationContext } from '../../kernel/index.js';
import { compile, definitionBody, serviceCode, type Definition } from './definition-schema.js';
import { definitionProblems } from './definition-validation.js';
import { WorkflowErrors } from './errors.js';
import { P } from './permissions.js';
import { fromJson, iso, tenantChain, type WorkflowState } from './workflow-state.js';

const TENANT = /^[a-z]{2,10}(\.[a-z0-9_]{1,30})*$/;
export const tenantCode = z.string().regex(TENANT, 'a dotted tenant code such as in.ka.bengaluru');

const definitionOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  code: z.string(),
  version: z.number().int(),
  name: z.string(),
  definition: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});

function toDefinition(state: WorkflowState, row: any): Definition {
  const cached = state.definitions.get(row.id);
  if (cached) return cached;
  const compiled = compile(row.id, row.tenant_id, Number(row.version), definitionBody.parse(fromJson(row.definition)));
  state.definitions.set(row.id, compiled);
  return compiled;
}

const out = (row: any) => ({
  id: row.id,
  tenantId: row.tenant_id,
  code: row.code,
  version: Number(row.version),
  name: row.name,
  definition: fromJson<Record<string, unknown>>(row.definition),
  createdAt: iso(row.created_at),
});

export async function definitionById(state: WorkflowState, ctx: OperationContext, id: string): Promise<Definition> {
  const cached = state.definitions.get(id);
  if (cached) return cached;
  const row = await ctx.db.selectFrom('definitions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return toDefinition(state, row);
}

/** The latest version of `code` at the nearest tenant of the chain that has one. */
export async function resolveDefinition(state: WorkflowState, ctx: OperationContext, tenant: string, code: string): Promise<Definition> {
  const chain = tenantChain(tenant);
  const rows = await ctx.db.selectFrom('definitions').selectAll().where('code', '=', code).where('tenant_id', 'in', chain).orderBy('version', 'desc').execute();
  rows.sort((a: any, b: any) => chain.indexOf(a.tenant_id) - chain.indexOf(b.tenant_id));
  if (!rows[0]) throw WorkflowErrors.definitionNotFound();
  return toDefinition(state, rows[0]);
}

/** Every stored version a process of `tenant` may run on (its chain's), for the inbox's "may act" test. */
export function visibleDefinitions(state: WorkflowState, ctx: OperationContext, tenant: string): Promise<Definition[]> {
  return state.visible.get(tenant, async () => {
    const rows = await ctx.db.selectFrom('definitions').selectAll().where('tenant_id', 'in', tenantChain(tenant)).execute();
    return rows.map((r) => toDefinition(state, r));
  });
}

export function definitionOperations(state: WorkflowState) {
  return {
    defineWorkflow: defineOperation({
      summary: 'Load a workflow definition: a new version of the code in the tenant, refused with every problem listed',
      permission: P.defineManage,
      http: { method: 'POST', path: '/definitions' },
      input: z.object({ tenantId: tenantCode, definition: definitionBody }),
      output: definitionOut,
      async handler(ctx, input) {
        const problems = definitionProblems(input.definition);
        if (problems.length > 0) throw WorkflowErrors.definitionInvalid(problems);
        return ctx.transaction(async (tx) => {
          // One writer per (tenant, code) at a time, so versions are gapless and never collide.
          await sql`select pg_advisory_xact_lock(hashtext(${`workflow.definition|${input.tenantId}|${input.definition.code}`}))`.execute(tx.db);
          const last = await tx.db
            .selectFrom('definitions')
            .select(sql<number>`coalesce(max(version), 0)`.as('v'))
            .where('tenant_id', '=', input.tenantId)
            .where('code', '=', input.definition.code)
            .executeTakeFirst();
          const version = Number(last?.v ?? 0) + 1;
          const id = newId('wfd');
          const row = await tx.db
            .insertInto('definitions')
            .values({ id, tenant_id: input.tenantId, code: input.definition.code, version, name: input.definition.name, definition: JSON.stringify(input.definition), created_by: ctx.actor.id })
            .returningAll()
            .executeTakeFirstOrThrow();
          const facts = { code: input.definition.code, version, states: input.definition.states.length, actions: input.definition.actions.length };
          await tx.audit({ action: 'workflow.definition.created', entityType: 'workflow_definition', entityId: id, tenantId: input.tenantId, data: facts });
          await tx.emit({ name: 'workflow.definition.created', tenantId: input.tenantId, payload: { id, ...facts } });
          state.visible.clear();
          return out(row);
        });
      },
    }),

    validateWorkflow: defineOperation({
      summary: 'Check a workflow definition without loading it; lists every problem',
      permission: P.defineRead,
      http: { method: 'POST', path: '/definitions/validate', status: 200 },
      input: z.object({ tenantId: tenantCode, definition: definitionBody }),
      output: z.object({ valid: z.boolean(), errors: z.array(z.object({ path: z.string(), message: z.string() })) }),
      async handler(_ctx, input) {
        const errors = definitionProblems(input.definition);
        return { valid: errors.length === 0, errors };
      },
    }),

    getWorkflow: defineOperation({
      summary: 'A workflow definition as a tenant sees it: the latest version at the nearest tenant, or a given version',
      permission: P.defineRead,
      http: { method: 'GET', path: '/definitions/:code' },
      readsInherited: true,
      input: z.object({ tenant: tenantCode, code: serviceCode, version: z.coerce.number().int().min(1).optional() }),
      output: definitionOut,
      async handler(ctx, input) {
        const chain = tenantChain(input.tenant);
        let query = ctx.db.selectFrom('definitions').selectAll().where('code', '=', input.code).where('tenant_id', 'in', chain).orderBy('version', 'desc');
        if (input.version !== undefined) query = query.where('version', '=', input.version);
        const rows = await query.execute();
        rows.sort((a: any, b: any) => chain.indexOf(a.tenant_id) - chain.indexOf(b.tenant_id));
        if (!rows[0]) throw WorkflowErrors.definitionNotFound();
        return out(rows[0]);
      },
    }),

    listWorkflows: defineOperation({
      summary: 'The workflow codes a tenant sees, each at its latest version',
      permission: P.defineRead,
      http: { method: 'GET', path: '/definitions' },
      readsInherited: true,
      input: z.object({ tenant: tenantCode }),
      output: z.object({ items: z.array(definitionOut.omit({ definition: true })) }),
      async handler(ctx, input) {
        const chain = tenantChain(input.tenant);
        const rows = await ctx.db.selectFrom('definitions').selectAll().where('tenant_id', 'in', chain).orderBy('code').orderBy('version', 'desc').execute();
        rows.sort((a: any, b: any) => (a.code < b.code ? -1 : a.code > b.code ? 1 : chain.indexOf(a.tenant_id) - chain.indexOf(b.tenant_id) || b.version - a.version));
        const seen = new Set<string>();
        const items = rows.filter((r: any) => !seen.has(r.code) && Boolean(seen.add(r.code))).map((r) => {
          const { definition: _unused, ...rest } = out(r);
          return rest;
        });
        return { items };
      },
    }),
  };
}
