import { can, defineOperation, SevaError, z } from '../../kernel/index.js';
import { OWN_READ } from './records.js';
import { registryCode, requireRegistry, tenantCode } from './registries.js';
import { OWNER_PURPOSE } from './sealing.js';

export const AUDIT_READ = 'registry.audit.read';

/** GovStack's PersonalDataUsage, plus the fields read and the reason given. */
const usageOut = z.object({
  id: z.string(),
  readerId: z.string(),
  readerInstitutionId: z.string().nullable(),
  readerApplicationName: z.string().nullable(),
  searchDateTime: z.string(),
  refrences: z.array(z.object({ ReferenceID: z.string() })).describe('spelled as in the GovStack specification'),
  fields: z.array(z.string()),
  reason: z.string(),
});

export const dataUsageOperations = {
  personalDataUsage: defineOperation({
    summary: 'Who read a citizen’s PII in plain text in a registry, when, through which system and why',
    description: 'A citizen asks about themselves (userId = their own id); anyone else needs registry.audit.read.',
    permission: OWN_READ,
    http: { method: 'GET', path: '/registries/:registry/personal-data-usage' },
    input: z.object({ tenantId: tenantCode, registry: registryCode, userId: z.string().min(1).max(64) }),
    output: z.object({ items: z.array(usageOut) }),
    async handler(ctx, input) {
      if (ctx.actor.id !== input.userId && !can(ctx.actor, AUDIT_READ)) {
        throw new SevaError('FORBIDDEN', 403, 'Only the citizen themselves, or a holder of registry.audit.read, may see this', [], { permission: AUDIT_READ });
      }
      const registry = await requireRegistry(ctx, input.tenantId, input.registry);
      const rows = await ctx.db
        .selectFrom('pii_reads as p')
        .innerJoin('records as r', 'r.id', 'p.record_id')
        .selectAll('p')
        .where('r.registry_id', '=', registry.id)
        .where('p.owner_bidx', '=', ctx.crypto.blindIndex(registry.tenantId, OWNER_PURPOSE, input.userId))
        .orderBy('p.read_at', 'desc')
        .limit(500)
        .execute();
      return {
        items: rows.map((r: any) => ({
          id: String(r.id),
          readerId: r.reader_id,
          readerInstitutionId: r.reader_tenant ?? null,
          readerApplicationName: r.client ?? null,
          searchDateTime: new Date(r.read_at).toISOString(),
          refrences: [{ ReferenceID: r.record_id }],
          fields: typeof r.fields === 'string' ? JSON.parse(r.fields) : r.fields,
          reason: r.reason,
        })),
      };
    },
  }),
};
