import { defineOperation, newId, validateJson, z, type OperationContext } from '../../kernel/index.js';
import { ReferenceErrors } from './errors.js';
import { requireSchema, schemaCode, type SchemaOut } from './masterdata-schemas.js';
import { masterdataArea, type ReferenceState } from './reference-state.js';
import { byNearest, fromJson, iso, tenantChain, tenantCode } from './tenant-chain.js';

export const RECORD_KEY = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
export const recordKey = z.string().regex(RECORD_KEY, 'letters, digits and _ . : - (up to 100), such as RETAIL.SHOP');
const recordData = z.record(z.string(), z.unknown());

export const recordOut = z.object({
  id: z.string(),
  tenantId: z.string().describe('The tenant that holds the record; for a lookup, the nearest one that has the key'),
  schema: z.string(),
  key: z.string(),
  data: z.record(z.string(), z.unknown()),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type RecordOut = z.input<typeof recordOut>;

export function toRecord(row: any): RecordOut {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    schema: row.schema_code,
    key: row.key,
    data: fromJson(row.data),
    version: Number(row.version),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** Checks `data` against the schema; the problems name the field from `prefix` (`body.data.fee.amount`). */
export function validateRecord(schema: SchemaOut, data: unknown, prefix: string, coerce = false) {
  return validateJson(`${schema.tenantId}|${schema.code}|${schema.version}`, schema.definition, data, prefix, coerce);
}

/**
 * Every record of `schema` as `tenant` sees it: for each key the row of the nearest tenant in its
 * chain. Cached per process until a change to the schema's records (or the TTL).
 */
export function resolvedRecords(ctx: OperationContext, state: ReferenceState, tenant: string, schema: string): Promise<Map<string, RecordOut>> {
  return state.cache.get(masterdataArea(schema), tenant, async () => {
    const chain = tenantChain(tenant);
    const rows = await ctx.db.selectFrom('records').selectAll().where('schema_code', '=', schema).where('tenant_id', 'in', chain).execute();
    rows.sort(byNearest(chain, (r: any) => r.tenant_id));
    const resolved = new Map<string, RecordOut>();
    for (const row of rows) if (!resolved.has(row.key)) resolved.set(row.key, toRecord(row));
    return new Map([...resolved.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

async function changed(state: ReferenceState, tx: { emit: (e: any) => Promise<string> }, tenant: string, schema: string, change: string, keys: string[]) {
  await tx.emit({ name: 'reference.masterdata.changed', tenantId: tenant, payload: { schema, tenant, change, keys } });
  state.cache.drop(masterdataArea(schema));
}

export function recordOperations(state: ReferenceState) {
  return {
    createRecord: defineOperation({
      summary: 'Add a master-data record to a tenant; it is checked against the schema the tenant sees',
      permission: 'reference.masterdata.write',
      http: { method: 'POST', path: '/masterdata/schemas/:schema/records' },
      input: z.object({ tenantId: tenantCode, schema: schemaCode, key: recordKey, data: recordData }),
      output: recordOut,
      async handler(ctx, input) {
        const schema = await requireSchema(ctx, input.tenantId, input.schema, 'schema');
        const problems = validateRecord(schema, input.data, 'body.data');
        if (problems.length) throw ReferenceErrors.recordInvalid(problems);
        return ctx.transaction(async (tx) => {
          const row = await tx.db
            .insertInto('records')
            .values({ id: newId('mdr'), tenant_id: input.tenantId, schema_code: input.schema, key: input.key, data: JSON.stringify(input.data) })
            .onConflict((oc) => oc.columns(['schema_code', 'tenant_id', 'key']).doNothing())
            .returningAll()
            .executeTakeFirst();
          if (!row) throw ReferenceErrors.recordExists(input.key);
          await tx.audit({ action: 'reference.masterdata.created', entityType: 'masterdata_record', entityId: row.id, tenantId: input.tenantId, data: { schema: input.schema, key: input.key } });
          await changed(state, tx, input.tenantId, input.schema, 'created', [input.key]);
          return toRecord(row);
        });
      },
    }),

    updateRecord: defineOperation({
      summary: 'Replace a record’s data in its tenant; `version` must be the one last read',
      permission: 'reference.masterdata.write',
      http: { method: 'PUT', path: '/masterdata/schemas/:schema/records/:key' },
      input: z.object({ tenantId: tenantCode, schema: schemaCode, key: recordKey, version: z.number().int().min(1), data: recordData }),
      output: recordOut,
      async handler(ctx, input) {
        const schema = await requireSchema(ctx, input.tenantId, input.schema, 'schema');
        const problems = validateRecord(schema, input.data, 'body.data');
        if (problems.length) throw ReferenceErrors.recordInvalid(problems);
        return ctx.transaction(async (tx) => {
          const row = await tx.db
            .updateTable('records')
            .set((eb) => ({ data: JSON.stringify(input.data), version: eb('version', '+', 1), updated_at: new Date() }))
            .where('schema_code', '=', input.schema)
            .where('tenant_id', '=', input.tenantId)
            .where('key', '=', input.key)
            .where('version', '=', input.version)
            .returningAll()
            .executeTakeFirst();
          if (!row) throw await missingOrStale(tx.db, input);
          await tx.audit({ action: 'reference.masterdata.updated', entityType: 'masterdata_record', entityId: row.id, tenantId: input.tenantId, data: { schema: input.schema, key: input.key, version: row.version } });
          await changed(state, tx, input.tenantId, input.schema, 'updated', [input.key]);
          return toRecord(row);
        });
      },
    }),

    deleteRecord: defineOperation({
      summary: 'Delete a record from its tenant (a parent tenant’s record with the key shows through again)',
      permission: 'reference.masterdata.write',
      http: { method: 'DELETE', path: '/masterdata/schemas/:schema/records/:key' },
      input: z.object({ tenantId: tenantCode, schema: schemaCode, key: recordKey, version: z.coerce.number().int().min(1) }),
      output: z.object({ deleted: z.literal(true) }),
      async handler(ctx, input) {
        return ctx.transaction(async (tx) => {
          const row = await tx.db
            .deleteFrom('records')
            .where('schema_code', '=', input.schema)
            .where('tenant_id', '=', input.tenantId)
            .where('key', '=', input.key)
            .where('version', '=', input.version)
            .returning(['id'])
            .executeTakeFirst();
          if (!row) throw await missingOrStale(tx.db, input);
          await tx.audit({ action: 'reference.masterdata.deleted', entityType: 'masterdata_record', entityId: row.id, tenantId: input.tenantId, data: { schema: input.schema, key: input.key, version: input.version } });
          await changed(state, tx, input.tenantId, input.schema, 'deleted', [input.key]);
          return { deleted: true as const };
        });
      },
    }),

    getRecord: defineOperation({
      summary: 'Look up a record by key with tenant fallback (city → state → country); cached',
      permission: 'reference.masterdata.read',
      http: { method: 'GET', path: '/masterdata/schemas/:schema/records/:key' },
      readsInherited: true,
      input: z.object({ tenant: tenantCode, schema: schemaCode, key: recordKey }),
      output: recordOut,
      async handler(ctx, input) {
        const record = (await resolvedRecords(ctx, state, input.tenant, input.schema)).get(input.key);
        if (!record) throw ReferenceErrors.recordNotFound(input.key);
        return record;
      },
    }),

    listRecords: defineOperation({
      summary: 'Records of a schema as a tenant sees them (nearest tenant per key), or only its own',
      permission: 'reference.masterdata.read',
      http: { method: 'GET', path: '/masterdata/schemas/:schema/records' },
      readsInherited: true,
      input: z.object({
        tenant: tenantCode,
        schema: schemaCode,
        scope: z.enum(['resolved', 'own']).default('resolved'),
        after: recordKey.optional().describe('The last key of the previous page'),
        limit: z.coerce.number().int().min(1).max(1000).default(200),
      }),
      output: z.object({ items: z.array(recordOut), nextAfter: z.string().nullable() }),
      async handler(ctx, input) {
        let all: RecordOut[];
        if (input.scope === 'resolved') {
          all = [...(await resolvedRecords(ctx, state, input.tenant, input.schema)).values()];
          if (input.after) all = all.filter((r) => r.key > input.after!);
          all = all.slice(0, input.limit + 1);
        } else {
          let query = ctx.db.selectFrom('records').selectAll().where('schema_code', '=', input.schema).where('tenant_id', '=', input.tenant).orderBy('key').limit(input.limit + 1);
          if (input.after) query = query.where('key', '>', input.after);
          all = (await query.execute()).map(toRecord);
        }
        const items = all.slice(0, input.limit);
        return { items, nextAfter: all.length > input.limit ? items[items.length - 1]!.key : null };
      },
    }),
  };
}

async function missingOrStale(db: any, input: { schema: string; tenantId: string; key: string }) {
  const exists = await db.selectFrom('records').select('id').where('schema_code', '=', input.schema).where('tenant_id', '=', input.tenantId).where('key', '=', input.key).executeTakeFirst();
  return exists ? ReferenceErrors.staleVersion() : ReferenceErrors.recordNotFound(input.key);
}
