import { defineOperation, sql, z, type OperationContext } from '../../kernel/index.js';
import { ReferenceErrors } from './errors.js';
import { dateIn, isTimeZone, parseTemplate, prepare, type Part } from './id-templates.js';
import type { ReferenceState } from './reference-state.js';
import { byNearest, iso, tenantChain, tenantCode } from './tenant-chain.js';

const formatCode = z.string().regex(/^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9_-]*){0,5}$/, 'a dotted name such as tl.licence');
export const FORMATS_AREA = 'idformats';
export const MAX_BATCH = 1000;

const formatOut = z.object({
  tenantId: z.string(),
  code: z.string(),
  template: z.string(),
  fyStartMonth: z.number().int(),
  timeZone: z.string(),
  version: z.number().int(),
  createdAt: z.string(),
});

function toFormat(row: any): z.input<typeof formatOut> {
  return { tenantId: row.tenant_id, code: row.code, template: row.template, fyStartMonth: Number(row.fy_start_month), timeZone: row.time_zone, version: Number(row.version), createdAt: iso(row.created_at) };
}

/** The format as `tenant` sees it, parsed; cached until a format is defined anywhere. */
function resolveFormat(ctx: OperationContext, state: ReferenceState, tenant: string, code: string) {
  return state.cache.get(FORMATS_AREA, `${tenant}|${code}`, async () => {
    const chain = tenantChain(tenant);
    const rows = await ctx.db.selectFrom('id_formats').selectAll().where('code', '=', code).where('tenant_id', 'in', chain).execute();
    rows.sort(byNearest(chain, (r: any) => r.tenant_id));
    const row = rows[0];
    return row ? { ...toFormat(row), parts: parseTemplate(row.template).parts as Part[] } : undefined;
  });
}

/**
 * Allocates `count` numbers of one tenant's sequence for a format and period in one atomic
 * statement: the upsert takes the row lock, adds `count`, and returns the new end, so concurrent
 * callers (in any process) get disjoint ranges without reading first.
 */
async function allocate(ctx: OperationContext, tenant: string, format: string, period: string, count: number): Promise<number> {
  const { rows } = await sql<{ next_value: string | number }>`
    insert into reference.id_sequences (tenant_id, format, period, next_value)
    values (${tenant}, ${format}, ${period}, ${count + 1})
    on conflict (tenant_id, format, period) do update set next_value = id_sequences.next_value + ${count}
    returning next_value`.execute(ctx.db);
  return Number(rows[0]!.next_value) - count;
}

export function idFormatOperations(state: ReferenceState) {
  return {
    createIdFormat: defineOperation({
      summary: 'Define an ID format, such as TL-[city]-[fy:yyyy-yy]-[seq:6]; child tenants inherit it',
      description: 'A template never changes once defined (define a new code instead), so numbers already given cannot come back in another shape.',
      permission: 'reference.idformat.write',
      http: { method: 'POST', path: '/id-formats' },
      input: z.object({
        tenantId: tenantCode,
        code: formatCode,
        template: z.string().min(1).max(200),
        fyStartMonth: z.number().int().min(1).max(12).default(4),
        timeZone: z.string().max(64).refine(isTimeZone, 'an IANA time zone such as Asia/Kolkata').default('UTC'),
      }),
      output: formatOut,
      async handler(ctx, input) {
        const { problems } = parseTemplate(input.template);
        if (problems.length) throw ReferenceErrors.idTemplateInvalid(problems);
        return ctx.transaction(async (tx) => {
          const row = await tx.db
            .insertInto('id_formats')
            .values({ tenant_id: input.tenantId, code: input.code, template: input.template, fy_start_month: input.fyStartMonth, time_zone: input.timeZone })
            .onConflict((oc) => oc.columns(['code', 'tenant_id']).doNothing())
            .returningAll()
            .executeTakeFirst();
          if (!row) throw ReferenceErrors.idFormatExists(input.code);
          await tx.audit({ action: 'reference.idformat.created', entityType: 'id_format', entityId: input.code, tenantId: input.tenantId, data: { template: input.template, fyStartMonth: input.fyStartMonth, timeZone: input.timeZone } });
          await tx.emit({ name: 'reference.idFormat.changed', tenantId: input.tenantId, payload: { tenant: input.tenantId, code: input.code } });
          state.cache.drop(FORMATS_AREA);
          return toFormat(row);
        });
      },
    }),

    listIdFormats: defineOperation({
      summary: 'ID formats a tenant sees (its own and inherited, nearest of each code)',
      permission: 'reference.idformat.read',
      http: { method: 'GET', path: '/id-formats' },
      readsInherited: true,
      input: z.object({ tenant: tenantCode }),
      output: z.object({ items: z.array(formatOut) }),
      async handler(ctx, input) {
        const chain = tenantChain(input.tenant);
        const rows = await ctx.db.selectFrom('id_formats').selectAll().where('tenant_id', 'in', chain).execute();
        rows.sort(byNearest(chain, (r: any) => r.tenant_id));
        const seen = new Set<string>();
        const items = rows.filter((r: any) => !seen.has(r.code) && seen.add(r.code)).sort((a: any, b: any) => (a.code < b.code ? -1 : 1));
        return { items: items.map(toFormat) };
      },
    }),

    generateIds: defineOperation({
      summary: 'Allocate the next IDs of a format for a tenant (1 to 1000 in one call); never the same ID twice',
      description: 'Other modules call it in process: ctx.call("reference", "generateIds", { tenantId, format, count }).',
      permission: 'reference.id.generate',
      http: { method: 'POST', path: '/id-formats/:format/generate', status: 200 },
      input: z.object({ tenantId: tenantCode, format: formatCode, count: z.number().int().min(1).max(MAX_BATCH).default(1) }),
      output: z.object({ format: z.string(), period: z.string(), ids: z.array(z.string()) }),
      async handler(ctx, input) {
        const format = await resolveFormat(ctx, state, input.tenantId, input.format);
        if (!format) throw ReferenceErrors.idFormatNotFound(input.format, 'format');
        const rendering = prepare(format.parts, { tenant: input.tenantId, date: dateIn(state.clock(), format.timeZone), fyStartMonth: format.fyStartMonth });
        // Inside a caller's transaction the numbers belong to it (and PGlite has one connection): allocate there.
        const first = ctx.db.isTransaction
          ? await allocate(ctx, input.tenantId, input.format, rendering.period, input.count)
          : await state.allocations.allocate(`${input.tenantId}|${input.format}|${rendering.period}`, input.count, (total) =>
              allocate(ctx, input.tenantId, input.format, rendering.period, total),
            );
        return { format: input.format, period: rendering.period, ids: Array.from({ length: input.count }, (_, i) => rendering.render(first + i)) };
      },
    }),
  };
}
