import { defineOperation, z, type OperationContext } from '../../kernel/index.js';
import { ReferenceErrors } from './errors.js';
import { checkSchemaDefinition } from './json-schema.js';
import { masterdataArea, type ReferenceState } from './reference-state.js';
import { byNearest, fromJson, iso, tenantChain, tenantCode } from './tenant-chain.js';

export const SCHEMA_CODE = /^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9_-]*){0,5}$/;
export const schemaCode = z.string().max(100).regex(SCHEMA_CODE, 'a dotted name such as tl.tradeType');

export const schemaOut = z.object({
  tenantId: z.string(),
  code: z.string(),
  description: z.string(),
  definition: z.record(z.string(), z.unknown()),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type SchemaOut = z.input<typeof schemaOut>;

function toSchema(row: any): SchemaOut {
  return {
    tenantId: row.tenant_id,
    code: row.code,
    description: row.description,
    definition: fromJson(row.definition),
    version: Number(row.version),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** The schema `code` as `tenant` sees it: its own, or the nearest tenant above that defines it. */
export async function resolveSchema(ctx: OperationContext, tenant: string, code: string): Promise<SchemaOut | undefined> {
  const chain = tenantChain(tenant);
  const rows = await ctx.db.selectFrom('schemas').selectAll().where('code', '=', code).where('tenant_id', 'in', chain).execute();
  rows.sort(byNearest(chain, (r: any) => r.tenant_id));
  return rows[0] ? toSchema(rows[0]) : undefined;
}

export async function requireSchema(ctx: OperationContext, tenant: string, code: string, path: string): Promise<SchemaOut> {
  const schema = await resolveSchema(ctx, tenant, code);
  if (!schema) throw ReferenceErrors.schemaNotFound(code, path);
  return schema;
}

const definition = z.record(z.string(), z.unknown()).describe('A JSON Schema (2020-12) whose root is an object');

export function schemaOperations(state: ReferenceState) {
  return {
    defineSchema: defineOperation({
      summary: 'Define a master-data schema (JSON Schema 2020-12) in a tenant; child tenants inherit it',
      permission: 'reference.masterdata.write',
      http: { method: 'POST', path: '/masterdata/schemas' },
      input: z.object({ tenantId: tenantCode, code: schemaCode, description: z.string().max(1000).default(''), definition }),
      output: schemaOut,
      async handler(ctx, input) {
        checkSchemaDefinition(input.definition);
        return ctx.transaction(async (tx) => {
          const row = await tx.db
            .insertInto('schemas')
            .values({ tenant_id: input.tenantId, code: input.code, description: input.description, definition: JSON.stringify(input.definition) })
            .onConflict((oc) => oc.columns(['code', 'tenant_id']).doNothing())
            .returningAll()
            .executeTakeFirst();
          if (!row) throw ReferenceErrors.schemaExists(input.code);
          await tx.audit({ action: 'reference.schema.defined', entityType: 'masterdata_schema', entityId: input.code, tenantId: input.tenantId, data: { version: 1 } });
          await tx.emit({ name: 'reference.masterdata.changed', tenantId: input.tenantId, payload: { schema: input.code, tenant: input.tenantId, change: 'schema' } });
          state.cache.drop(masterdataArea(input.code));
          return toSchema(row);
        });
      },
    }),

    updateSchema: defineOperation({
      summary: 'Replace a schema definition; `version` must be the one last read. Existing records are not re-checked.',
      permission: 'reference.masterdata.write',
      http: { method: 'PUT', path: '/masterdata/schemas/:code' },
      input: z.object({ tenantId: tenantCode, code: schemaCode, version: z.number().int().min(1), description: z.string().max(1000).optional(), definition }),
      output: schemaOut,
      async handler(ctx, input) {
        checkSchemaDefinition(input.definition);
        return ctx.transaction(async (tx) => {
          const row = await tx.db
            .updateTable('schemas')
            .set((eb) => ({
              definition: JSON.stringify(input.definition),
              ...(input.description !== undefined ? { description: input.description } : {}),
              version: eb('version', '+', 1),
              updated_at: new Date(),
            }))
            .where('code', '=', input.code)
            .where('tenant_id', '=', input.tenantId)
            .where('version', '=', input.version)
            .returningAll()
            .executeTakeFirst();
          if (!row) {
            const exists = await tx.db.selectFrom('schemas').select('code').where('code', '=', input.code).where('tenant_id', '=', input.tenantId).executeTakeFirst();
            throw exists ? ReferenceErrors.staleVersion() : ReferenceErrors.schemaNotFound(input.code, 'code');
          }
          await tx.audit({ action: 'reference.schema.updated', entityType: 'masterdata_schema', entityId: input.code, tenantId: input.tenantId, data: { version: row.version } });
          await tx.emit({ name: 'reference.masterdata.changed', tenantId: input.tenantId, payload: { schema: input.code, tenant: input.tenantId, change: 'schema' } });
          state.cache.drop(masterdataArea(input.code));
          return toSchema(row);
        });
      },
    }),

    getSchema: defineOperation({
      summary: 'The schema as a tenant sees it: its own or the nearest tenant above',
      permission: 'reference.masterdata.read',
      http: { method: 'GET', path: '/masterdata/schemas/:code' },
      readsInherited: true,
      input: z.object({ tenant: tenantCode, code: schemaCode }),
      output: schemaOut,
      handler: (ctx, input) => requireSchema(ctx, input.tenant, input.code, 'code'),
    }),

    listSchemas: defineOperation({
      summary: 'Schemas a tenant sees (its own and inherited), nearest definition of each code',
      permission: 'reference.masterdata.read',
      http: { method: 'GET', path: '/masterdata/schemas' },
      readsInherited: true,
      input: z.object({ tenant: tenantCode }),
      output: z.object({ items: z.array(schemaOut) }),
      async handler(ctx, input) {
        const chain = tenantChain(input.tenant);
        const rows = await ctx.db.selectFrom('schemas').selectAll().where('tenant_id', 'in', chain).orderBy('code').execute();
        rows.sort(byNearest(chain, (r: any) => r.tenant_id));
        const nearest = new Map<string, any>();
        for (const row of rows) if (!nearest.has(row.code)) nearest.set(row.code, row);
        return { items: [...nearest.values()].sort((a, b) => (a.code < b.code ? -1 : 1)).map(toSchema) };
      },
    }),
  };
}
