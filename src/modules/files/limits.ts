import { defineOperation, z, type OperationContext } from '../../kernel/index.js';
import { FilesPermissions } from './permissions.js';

const tenantCode = z.string().regex(/^[a-z0-9]+(\.[a-z0-9_-]+)*$/, 'a tenant code such as in.ka.bengaluru').max(100);

const limitOut = z.object({
  tenantId: z.string(),
  maxBytes: z.number().int(),
  /** Where the figure comes from: the tenant's own row, a parent tenant's, or the platform default. */
  source: z.enum(['tenant', 'inherited', 'default']),
});

/** `in.ka.bengaluru` → `in`, `in.ka`, `in.ka.bengaluru`. */
function selfAndAncestors(tenantId: string): string[] {
  const parts = tenantId.split('.');
  return parts.map((_, i) => parts.slice(0, i + 1).join('.'));
}

/** The largest upload a tenant accepts: its own limit, else its nearest parent's, else the default. */
export async function effectiveLimit(ctx: OperationContext, tenantId: string): Promise<z.input<typeof limitOut>> {
  const rows = await ctx.db.selectFrom('tenant_limits').select(['tenant_id', 'max_bytes']).where('tenant_id', 'in', selfAndAncestors(tenantId)).execute();
  const nearest = rows.sort((a, b) => String(b.tenant_id).length - String(a.tenant_id).length)[0];
  if (!nearest) return { tenantId, maxBytes: ctx.config.filesMaxBytes, source: 'default' };
  return { tenantId, maxBytes: Number(nearest.max_bytes), source: nearest.tenant_id === tenantId ? 'tenant' : 'inherited' };
}

export const limitOperations = {
  getLimits: defineOperation({
    summary: 'The largest file a tenant accepts, and where that figure comes from',
    permission: FilesPermissions.upload,
    readsInherited: true,
    http: { method: 'GET', path: '/limits/:tenantId' },
    input: z.object({ tenantId: tenantCode }),
    output: limitOut,
    handler: (ctx, input) => effectiveLimit(ctx, input.tenantId),
  }),

  setLimits: defineOperation({
    summary: 'Set the largest file a tenant (and the tenants below it without their own) accepts',
    permission: FilesPermissions.manageLimits,
    http: { method: 'PUT', path: '/limits/:tenantId' },
    input: z.object({ tenantId: tenantCode, maxBytes: z.number().int().min(1).max(1024 * 1024 * 1024) }),
    output: limitOut,
    async handler(ctx, input) {
      await ctx.transaction(async (tx) => {
        const before = await tx.db.selectFrom('tenant_limits').select('max_bytes').where('tenant_id', '=', input.tenantId).executeTakeFirst();
        await tx.db
          .insertInto('tenant_limits')
          .values({ tenant_id: input.tenantId, max_bytes: input.maxBytes, updated_by: ctx.actor.id })
          .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ max_bytes: input.maxBytes, updated_by: ctx.actor.id, updated_at: new Date() }))
          .execute();
        await tx.audit({
          action: 'files.limits.updated',
          entityType: 'tenant_limits',
          entityId: input.tenantId,
          tenantId: input.tenantId,
          data: { before: before ? Number(before.max_bytes) : null, after: input.maxBytes },
        });
      });
      return effectiveLimit(ctx, input.tenantId);
    },
  }),
};
