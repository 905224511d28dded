import { defineOperation, newId, sql, tenantCode, z, type OperationContext } from '../../kernel/index.js';
import { checkDefinition, definitionInput, toRegistry, type Registry } from './definition.js';
import { RegistryErrors } from './errors.js';

export { tenantCode };
export const registryCode = z.string().regex(/^[a-z][a-z0-9_-]{1,40}$/, 'lower case letters, digits, "_" or "-", 2 to 41 characters');
export const MANAGE = 'registry.registry.manage';
export const READ_REGISTRY = 'registry.registry.read';

export const registryOut = z.object({
  id: z.string(),
  number: z.number().int().describe('the integer id of the GovStack database API'),
  tenantId: z.string(),
  code: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  version: z.number().int(),
  status: z.enum(['active', 'disabled']),
  definition: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type RegistryOut = z.input<typeof registryOut>;

export function toRegistryOut(r: Registry): RegistryOut {
  return {
    id: r.id,
    number: r.number,
    tenantId: r.tenantId,
    code: r.code,
    name: r.name,
    description: r.description,
    version: r.version,
    status: r.status,
    definition: r.definition as unknown as Record<string, unknown>,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

/** Parsed definitions per id and version: a version never changes once written. */
const parsed = new Map<string, Registry>();

function cached(row: any): Registry {
  const key = `${row.id}:${row.version}:${row.status}`;
  let registry = parsed.get(key);
  if (!registry) {
    registry = toRegistry(row);
    if (parsed.size > 1000) parsed.clear();
    parsed.set(key, registry);
  }
  return registry;
}

export async function findRegistry(ctx: OperationContext, tenantId: string, code: string): Promise<Registry | undefined> {
  const row = await ctx.db.selectFrom('registries').selectAll().where('tenant_id', '=', tenantId).where('code', '=', code).executeTakeFirst();
  return row ? cached(row) : undefined;
}

/** The registry, active, or REGISTRY_NOT_FOUND naming `path`. */
export async function requireRegistry(ctx: OperationContext, tenantId: string, code: string, path = 'registry'): Promise<Registry> {
  const registry = await findRegistry(ctx, tenantId, code);
  if (!registry || registry.status !== 'active') throw RegistryErrors.registryNotFound(code, path);
  return registry;
}

export async function registryById(ctx: OperationContext, id: string): Promise<Registry> {
  const row = await ctx.db.selectFrom('registries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return cached(row);
}

export async function registryByNumber(ctx: OperationContext, number: number): Promise<Registry | undefined> {
  const row = await ctx.db.selectFrom('registries').selectAll().where('number', '=', number).executeTakeFirst();
  return row ? cached(row) : undefined;
}

export async function defineRegistry(ctx: OperationContext, input: { tenantId: string; code: string; name: string; description?: string | undefined; definition: z.output<typeof definitionInput> }): Promise<RegistryOut> {
  checkDefinition(input.definition);
  const id = newId('reg');
  return ctx.transaction(async (tx) => {
    const row = await tx.db
      .insertInto('registries')
      .values({ id, tenant_id: input.tenantId, code: input.code, name: input.name, description: input.description ?? null, definition: JSON.stringify(input.definition), created_by: ctx.actor.id })
      .onConflict((oc) => oc.columns(['tenant_id', 'code']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw RegistryErrors.registryExists(input.code);
    await tx.db.insertInto('registry_versions').values({ registry_id: id, version: 1, definition: JSON.stringify(input.definition), changed_by: ctx.actor.id }).execute();
    await tx.audit({ action: 'registry.registry.defined', entityType: 'registry', entityId: id, tenantId: input.tenantId, data: { code: input.code, version: 1 } });
    await tx.emit({ name: 'registry.registry.changed', tenantId: input.tenantId, payload: { registry: input.code, version: 1 } });
    return toRegistryOut(cached(row));
  });
}

/**
 * A new definition version. Records keep what they were written with; indexes of existing
 * records are not rebuilt, so a field newly made searchable finds records written from now on
 * (and older ones once they are updated) — said in the README.
 */
export async function updateRegistry(
  ctx: OperationContext,
  input: { tenantId: string; code: string; version: number; name?: string | undefined; description?: string | undefined; definition?: z.output<typeof definitionInput> | undefined; status?: 'active' | 'disabled' | undefined },
): Promise<RegistryOut> {
  if (input.definition) checkDefinition(input.definition);
  return ctx.transaction(async (tx) => {
    const current = await tx.db.selectFrom('registries').selectAll().where('tenant_id', '=', input.tenantId).where('code', '=', input.code).forUpdate().executeTakeFirst();
    if (!current) throw RegistryErrors.registryNotFound(input.code, 'code');
    if (Number(current.version) !== input.version) throw RegistryErrors.staleVersion();
    const version = input.definition ? input.version + 1 : input.version;
    const row = await tx.db
      .updateTable('registries')
      .set({
        name: input.name ?? current.name,
        description: input.description ?? current.description,
        status: input.status ?? current.status,
        version,
        ...(input.definition ? { definition: JSON.stringify(input.definition) } : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (input.definition) await tx.db.insertInto('registry_versions').values({ registry_id: current.id, version, definition: JSON.stringify(input.definition), changed_by: ctx.actor.id }).execute();
    await tx.audit({ action: 'registry.registry.updated', entityType: 'registry', entityId: current.id, tenantId: input.tenantId, data: { code: input.code, version, status: row.status } });
    await tx.emit({ name: 'registry.registry.changed', tenantId: input.tenantId, payload: { registry: input.code, version } });
    return toRegistryOut(cached(row));
  });
}

export const registryOperations = {
  defineRegistry: defineOperation({
    summary: 'Define a registry: a JSON Schema per record, field flags (pii, searchable, unique, visibility), owner field, dedup rules',
    permission: MANAGE,
    http: { method: 'POST', path: '/registries' },
    input: z.object({ tenantId: tenantCode, code: registryCode, name: z.string().trim().min(1).max(200), description: z.string().max(2000).optional(), definition: definitionInput }),
    output: registryOut,
    handler: (ctx, input) => defineRegistry(ctx, input),
  }),

  updateRegistry: defineOperation({
    summary: 'Change a registry; a new definition makes a new version (If-Match style: send the version you read)',
    permission: MANAGE,
    http: { method: 'PATCH', path: '/registries/:code' },
    input: z.object({
      tenantId: tenantCode,
      code: registryCode,
      version: z.number().int().min(1),
      name: z.string().trim().min(1).max(200).optional(),
      description: z.string().max(2000).optional(),
      definition: definitionInput.optional(),
      status: z.enum(['active', 'disabled']).optional(),
    }),
    output: registryOut,
    handler: (ctx, input) => updateRegistry(ctx, input),
  }),

  getRegistry: defineOperation({
    summary: 'Read a registry and its definition',
    permission: READ_REGISTRY,
    http: { method: 'GET', path: '/registries/:code' },
    input: z.object({ tenantId: tenantCode, code: registryCode }),
    output: registryOut,
    async handler(ctx, input) {
      const registry = await findRegistry(ctx, input.tenantId, input.code);
      if (!registry) throw RegistryErrors.registryNotFound(input.code, 'code');
      return toRegistryOut(registry);
    },
  }),

  listRegistries: defineOperation({
    summary: 'List the registries of a tenant',
    permission: READ_REGISTRY,
    http: { method: 'GET', path: '/registries' },
    input: z.object({ tenantId: tenantCode }),
    output: z.object({ items: z.array(registryOut) }),
    async handler(ctx, input) {
      const rows = await ctx.db.selectFrom('registries').selectAll().where('tenant_id', '=', input.tenantId).orderBy('code').execute();
      return { items: rows.map((r) => toRegistryOut(cached(r))) };
    },
  }),
};
