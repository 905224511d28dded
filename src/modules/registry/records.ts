import { defineOperation, newId, z, type OperationContext } from '../../kernel/index.js';
import type { Registry } from './definition.js';
import { candidateOut, recordCandidates } from './dedup.js';
import { findCandidates } from './dedup-rules.js';
import { RegistryErrors } from './errors.js';
import { sameJson } from './field-values.js';
import { dropIndex, insertRecords, loadRecord, parseJson, reindex, toRow, writeVersion, type RecordRow } from './record-store.js';
import { registryCode, requireRegistry, tenantCode } from './registries.js';
import { assignNumbers, OWNER_PURPOSE, sealRecords, unseal, validateRecord } from './sealing.js';
import { mayReadPlainPii, viewOf, PII_READ } from './visibility.js';

export const WRITE = 'registry.record.write';
export const READ = 'registry.record.read';
export const OWN_READ = 'registry.record.own.read';

export const recordId = z.string().min(1).max(64);
/** A boolean that also arrives as `true`/`false` in a query string (coercion would read "false" as true). */
export const queryFlag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(false);
export const reason = z.string().trim().min(3).max(500);

export const recordOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  registry: z.string(),
  version: z.number().int(),
  status: z.enum(['active', 'deleted', 'duplicate', 'merged']),
  data: z.record(z.string(), z.unknown()),
  masked: z.array(z.string()).describe('fields shown masked (98******21)'),
  hidden: z.array(z.string()).describe('fields left out for the caller’s roles'),
  duplicateOf: z.string().nullable(),
  review: z.enum(['pending', 'cleared']).nullable().describe('pending: possible duplicates wait for a decision'),
  createdAt: z.string(),
  createdBy: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string(),
});
export type RecordOut = z.input<typeof recordOut>;

export interface ReadOptions {
  plain?: boolean | undefined;
  reason?: string | undefined;
  owner?: boolean | undefined;
  /** The system that asked (GovStack's Information-Mediator-Client), kept with a PII read. */
  client?: string | undefined;
}

/**
 * What the caller sees of a stored record. A plain read of PII is written to the audit log and
 * to `pii_reads` (who, which fields, why) before the value leaves the module.
 */
export async function present(ctx: OperationContext, registry: Registry, row: RecordRow, options: ReadOptions = {}): Promise<RecordOut> {
  const wantsPlain = Boolean(options.plain) && Object.keys(row.sealed).length > 0;
  // Decrypted even for a masked view: a mask shows the value's ends (98******21).
  const full = await unseal(ctx, row.tenant_id, row.data, row.sealed);
  const view = viewOf(registry, ctx.actor, full, { plain: wantsPlain, owner: Boolean(options.owner) });
  if (view.plainPii.length > 0 && !options.owner) {
    await ctx.transaction(async (tx) => {
      await tx.audit({ action: PII_READ, entityType: 'record', entityId: row.id, tenantId: row.tenant_id, data: { registry: registry.code, fields: view.plainPii, reason: options.reason, client: options.client ?? null } });
      await tx.db
        .insertInto('pii_reads')
        .values({ tenant_id: row.tenant_id, record_id: row.id, owner_bidx: row.owner_bidx, reader_id: ctx.actor.id, reader_tenant: ctx.actor.tenantId ?? null, client: options.client ?? null, fields: JSON.stringify(view.plainPii), reason: options.reason ?? '' })
        .execute();
    });
  }
  return {
    id: row.id,
    tenantId: row.tenant_id,
    registry: registry.code,
    version: row.version,
    status: row.status,
    data: view.data,
    masked: view.masked,
    hidden: view.hidden,
    duplicateOf: row.duplicate_of,
    review: row.review,
    createdAt: new Date(row.created_at).toISOString(),
    createdBy: row.created_by,
    updatedAt: new Date(row.updated_at).toISOString(),
    updatedBy: row.updated_by,
  };
}

export function checkReadRequest(options: { plain?: boolean | undefined; reason?: string | undefined }): void {
  if (options.plain && !options.reason) throw RegistryErrors.reasonRequired();
}

export async function createRecord(ctx: OperationContext, registry: Registry, input: Record<string, unknown>, options: { checkDuplicates?: boolean } = {}) {
  const problems = validateRecord(registry, input, 'data');
  if (problems.length) throw RegistryErrors.recordInvalid(problems);
  const id = newId('rec');
  return ctx.transaction(async (tx) => {
    const data = structuredClone(input);
    await assignNumbers(ctx, registry, [data]);
    const [sealed] = await sealRecords(ctx, registry, [data]);
    await insertRecords(tx.db, registry, ctx.actor.id, [{ id, sealed: sealed! }]);
    const dedup = registry.definition.dedup;
    const candidates = dedup && (options.checkDuplicates ?? dedup.onCreate) ? await findCandidates(tx.db, registry, sealed!.index, id) : [];
    if (candidates.length) await recordCandidates(tx, registry, id, candidates);
    await tx.audit({ action: 'registry.record.created', entityType: 'record', entityId: id, tenantId: registry.tenantId, data: { registry: registry.code, duplicates: candidates.map((c) => c.recordId) } });
    await tx.emit({ name: 'registry.record.created', tenantId: registry.tenantId, payload: { registry: registry.code, id, possibleDuplicates: candidates.length } });
    const row = await loadRecord(tx.db, registry, id);
    return { ...(await present(ctx, registry, row)), duplicates: candidates.map((c) => ({ ...c, decision: null })) };
  });
}

/** `changes` merged over the current data (null removes a field), or `data` replacing it. */
export async function updateRecord(
  ctx: OperationContext,
  registry: Registry,
  input: { id: string; version?: number | undefined; data?: Record<string, unknown> | undefined; changes?: Record<string, unknown> | undefined; reason?: string | undefined },
): Promise<RecordOut> {
  return ctx.transaction(async (tx) => {
    const current = await loadRecord(tx.db, registry, input.id, true);
    if (input.version !== undefined && input.version !== current.version) throw RegistryErrors.staleVersion();
    if (current.status !== 'active') throw RegistryErrors.recordState(`The record is ${current.status}; restore it first`);
    const before = await unseal(ctx, registry.tenantId, current.data, current.sealed);
    const after = input.data ? structuredClone(input.data) : structuredClone(before);
    for (const [key, value] of Object.entries(input.changes ?? {})) {
      if (value === null) delete after[key];
      else after[key] = value;
    }
    // A repeated update (GovStack clients retry) changes nothing and makes no version.
    if (sameJson(before, after)) return present(ctx, registry, current);
    const problems = validateRecord(registry, after, input.data ? 'data' : 'changes');
    if (problems.length) throw RegistryErrors.recordInvalid(problems);
    const [sealed] = await sealRecords(ctx, registry, [after]);
    const row = await writeVersion(tx.db, registry, current, { data: sealed!.data, sealed: sealed!.sealed, ownerBidx: sealed!.ownerBidx, status: 'active' }, 'updated', ctx.actor.id, input.reason ?? null);
    await reindex(tx, registry, current.id, sealed!.index);
    const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => !sameJson(before[k], after[k]));
    await tx.audit({ action: 'registry.record.updated', entityType: 'record', entityId: current.id, tenantId: registry.tenantId, data: { registry: registry.code, version: row.version, fields, reason: input.reason ?? null } });
    await tx.emit({ name: 'registry.record.updated', tenantId: registry.tenantId, payload: { registry: registry.code, id: current.id, version: row.version, fields } });
    return present(ctx, registry, row);
  });
}

/** Soft delete; deleting a deleted record again answers as the first time did (idempotent). */
export async function deleteRecord(ctx: OperationContext, registry: Registry, input: { id: string; version?: number | undefined; reason?: string | undefined }): Promise<RecordOut> {
  return ctx.transaction(async (tx) => {
    const current = await loadRecord(tx.db, registry, input.id, true);
    if (current.status === 'deleted') return present(ctx, registry, current);
    if (input.version !== undefined && input.version !== current.version) throw RegistryErrors.staleVersion();
    const row = await writeVersion(tx.db, registry, current, { data: current.data, sealed: current.sealed, ownerBidx: current.owner_bidx, status: 'deleted' }, 'deleted', ctx.actor.id, input.reason ?? null);
    await dropIndex(tx.db, current.id);
    await tx.audit({ action: 'registry.record.deleted', entityType: 'record', entityId: current.id, tenantId: registry.tenantId, data: { registry: registry.code, version: row.version, reason: input.reason ?? null } });
    await tx.emit({ name: 'registry.record.deleted', tenantId: registry.tenantId, payload: { registry: registry.code, id: current.id } });
    return present(ctx, registry, row);
  });
}

export async function restoreRecord(ctx: OperationContext, registry: Registry, input: { id: string; reason?: string | undefined }): Promise<RecordOut> {
  return ctx.transaction(async (tx) => {
    const current = await loadRecord(tx.db, registry, input.id, true);
    if (current.status === 'active') return present(ctx, registry, current);
    const full = await unseal(ctx, registry.tenantId, current.data, current.sealed);
    const [sealed] = await sealRecords(ctx, registry, [full]);
    const row = await writeVersion(tx.db, registry, current, { data: current.data, sealed: current.sealed, ownerBidx: current.owner_bidx, status: 'active', duplicateOf: null }, 'restored', ctx.actor.id, input.reason ?? null);
    // Another record may have taken a unique value meanwhile: then the restore is refused.
    await reindex(tx, registry, current.id, sealed!.index);
    await tx.audit({ action: 'registry.record.restored', entityType: 'record', entityId: current.id, tenantId: registry.tenantId, data: { registry: registry.code, version: row.version, from: current.status, reason: input.reason ?? null } });
    await tx.emit({ name: 'registry.record.restored', tenantId: registry.tenantId, payload: { registry: registry.code, id: current.id } });
    return present(ctx, registry, row);
  });
}

const scope = { tenantId: tenantCode, registry: registryCode };
const anyObject = z.record(z.string(), z.unknown());

export const recordOperations = {
  createRecord: defineOperation({
    summary: 'Create a record: validated against the registry schema, PII sealed, duplicates looked for',
    description: 'The answer carries `duplicates`: candidates found by the registry’s rules, each with a score and the reasons per field. The record is created either way and marked `review: pending` when any were found.',
    permission: WRITE,
    http: { method: 'POST', path: '/registries/:registry/records' },
    input: z.object({ ...scope, data: anyObject, checkDuplicates: z.boolean().optional().describe('default: the registry’s dedup.onCreate') }),
    output: recordOut.extend({ duplicates: z.array(candidateOut) }),
    async handler(ctx, input) {
      const registry = await requireRegistry(ctx, input.tenantId, input.registry);
      return createRecord(ctx, registry, input.data, input.checkDuplicates === undefined ? {} : { checkDuplicates: input.checkDuplicates });
    },
  }),

  getRecord: defineOperation({
    summary: 'Read a record, masked per the caller’s roles; plain=true with a reason shows PII (needs registry.record.pii.read, audited)',
    permission: READ,
    http: { method: 'GET', path: '/registries/:registry/records/:id' },
    input: z.object({ ...scope, id: recordId, plain: queryFlag, reason: reason.optional() }),
    output: recordOut,
    async handler(ctx, input) {
      checkReadRequest(input);
      if (input.plain && !mayReadPlainPii(ctx.actor)) throw RegistryErrors.piiForbidden();
      const registry = await requireRegistry(ctx, input.tenantId, input.registry);
      return present(ctx, registry, await loadRecord(ctx.db, registry, input.id), input);
    },
  }),

  updateRecord: defineOperation({
    summary: 'Change a record (a new version with who, when and why); `changes` merges, `data` replaces',
    permission: WRITE,
    http: { method: 'PATCH', path: '/registries/:registry/records/:id' },
    input: z.object({ ...scope, id: recordId, version: z.number().int().min(1).optional().describe('the version read; refused with 409 when another change came first'), data: anyObject.optional(), changes: anyObject.optional(), reason: reason.optional() }),
    output: recordOut,
    async handler(ctx, input) {
      if ((input.data === undefined) === (input.changes === undefined)) throw RegistryErrors.dataOrChanges();
      return updateRecord(ctx, await requireRegistry(ctx, input.tenantId, input.registry), input);
    },
  }),

  deleteRecord: defineOperation({
    summary: 'Soft-delete a record: it leaves searches and dedup, keeps its history, and can be restored',
    permission: WRITE,
    http: { method: 'DELETE', path: '/registries/:registry/records/:id' },
    input: z.object({ ...scope, id: recordId, version: z.coerce.number().int().min(1).optional(), reason: reason.optional() }),
    output: recordOut,
    async handler(ctx, input) {
      return deleteRecord(ctx, await requireRegistry(ctx, input.tenantId, input.registry), input);
    },
  }),

  restoreRecord: defineOperation({
    summary: 'Restore a deleted (or duplicate-marked) record; refused when another record took one of its unique values',
    permission: WRITE,
    http: { method: 'POST', path: '/registries/:registry/records/:id/restore', status: 200 },
    input: z.object({ ...scope, id: recordId, reason: reason.optional() }),
    output: recordOut,
    async handler(ctx, input) {
      return restoreRecord(ctx, await requireRegistry(ctx, input.tenantId, input.registry), input);
    },
  }),

  listRecordVersions: defineOperation({
    summary: 'The versions of a record: what changed, who, when and why (data masked per the caller’s roles)',
    permission: READ,
    http: { method: 'GET', path: '/registries/:registry/records/:id/versions' },
    input: z.object({ ...scope, id: recordId }),
    output: z.object({
      items: z.array(z.object({ version: z.number().int(), change: z.string(), status: z.string(), data: anyObject, changedBy: z.string(), changedAt: z.string(), reason: z.string().nullable() })),
    }),
    async handler(ctx, input) {
      const registry = await requireRegistry(ctx, input.tenantId, input.registry);
      await loadRecord(ctx.db, registry, input.id);
      const rows = await ctx.db.selectFrom('record_versions').selectAll().where('record_id', '=', input.id).orderBy('version').execute();
      const items = [];
      for (const r of rows as any[]) {
        const full = await unseal(ctx, registry.tenantId, parseJson(r.data), parseJson(r.sealed));
        const view = viewOf(registry, ctx.actor, full, { plain: false, owner: false });
        items.push({ version: Number(r.version), change: r.change, status: r.status, data: view.data, changedBy: r.changed_by, changedAt: new Date(r.changed_at).toISOString(), reason: r.reason ?? null });
      }
      return { items };
    },
  }),

  listMyRecords: defineOperation({
    summary: 'A citizen’s own records in a registry (the owner field holds their user id), in plain text',
    permission: OWN_READ,
    http: { method: 'GET', path: '/registries/:registry/my-records' },
    input: z.object({ ...scope }),
    output: z.object({ items: z.array(recordOut) }),
    async handler(ctx, input) {
      const registry = await requireRegistry(ctx, input.tenantId, input.registry);
      if (!registry.definition.ownerField) return { items: [] };
      const rows = await ctx.db
        .selectFrom('records')
        .selectAll()
        .where('registry_id', '=', registry.id)
        .where('owner_bidx', '=', ctx.crypto.blindIndex(registry.tenantId, OWNER_PURPOSE, ctx.actor.id))
        .where('status', '=', 'active')
        .orderBy('created_at')
        .limit(100)
        .execute();
      return { items: await Promise.all(rows.map((r) => present(ctx, registry, toRow(r), { owner: true }))) };
    },
  }),
};
