import { sql, type OperationContext, type Transaction } from '../../kernel/index.js';
import type { Registry } from './definition.js';
import { RegistryErrors } from './errors.js';
import type { IndexRow, SealedRecord } from './sealing.js';

export type Change = 'created' | 'updated' | 'deleted' | 'restored' | 'merged' | 'duplicate';
export type RecordStatus = 'active' | 'deleted' | 'duplicate' | 'merged';

/** A `records` row as read. */
export interface RecordRow {
  id: string;
  tenant_id: string;
  registry_id: string;
  version: number;
  data: Record<string, unknown>;
  sealed: Record<string, string>;
  owner_bidx: string | null;
  status: RecordStatus;
  duplicate_of: string | null;
  review: 'pending' | 'cleared' | null;
  created_by: string;
  created_at: Date | string;
  updated_by: string;
  updated_at: Date | string;
}

/** Rows per insert statement: keeps the parameter count far below PostgreSQL's 65535. */
export const CHUNK = 500;

export function parseJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

export function toRow(row: any): RecordRow {
  return { ...row, version: Number(row.version), data: parseJson(row.data), sealed: parseJson(row.sealed) };
}

/** The record of `registry` in the caller's tenant, or REGISTRY_RECORD_NOT_FOUND (also for another registry's or tenant's). */
export async function loadRecord(db: OperationContext['db'] | Transaction<any>, registry: Registry, id: string, lock = false): Promise<RecordRow> {
  let query = db.selectFrom('records').selectAll().where('id', '=', id).where('registry_id', '=', registry.id).where('tenant_id', '=', registry.tenantId);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw RegistryErrors.recordNotFound();
  return toRow(row);
}

/**
 * Writes index rows; a row colliding with another record's unique value is skipped by the
 * database, which is how a unique field is detected (no check-then-insert race).
 */
export async function insertIndex(tx: Transaction<any>, registry: Registry, entries: Array<{ id: string; index: IndexRow[] }>): Promise<Array<{ id: string; field: string }>> {
  const rows = entries.flatMap((e) => e.index.map((r) => ({ ...r, record_id: e.id, registry_id: registry.id, tenant_id: registry.tenantId })));
  const collisions: Array<{ id: string; field: string }> = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const written = await tx.insertInto('record_index').values(chunk).onConflict((oc) => oc.doNothing()).returning(['record_id', 'field']).execute();
    if (written.length === chunk.length) continue;
    const got = new Set(written.map((w) => `${w.record_id} ${w.field}`));
    for (const r of chunk) if (!got.has(`${r.record_id} ${r.field}`)) collisions.push({ id: r.record_id, field: r.field });
  }
  return collisions;
}

export async function insertRecords(tx: Transaction<any>, registry: Registry, actorId: string, entries: Array<{ id: string; sealed: SealedRecord }>): Promise<void> {
  for (let i = 0; i < entries.length; i += CHUNK) {
    const chunk = entries.slice(i, i + CHUNK);
    await tx
      .insertInto('records')
      .values(chunk.map((e) => ({ id: e.id, tenant_id: registry.tenantId, registry_id: registry.id, data: JSON.stringify(e.sealed.data), sealed: JSON.stringify(e.sealed.sealed), owner_bidx: e.sealed.ownerBidx, created_by: actorId, updated_by: actorId })))
      .execute();
    await tx
      .insertInto('record_versions')
      .values(chunk.map((e) => ({ record_id: e.id, version: 1, tenant_id: registry.tenantId, change: 'created', data: JSON.stringify(e.sealed.data), sealed: JSON.stringify(e.sealed.sealed), status: 'active', changed_by: actorId })))
      .execute();
  }
  const collisions = await insertIndex(tx, registry, entries.map((e) => ({ id: e.id, index: e.sealed.index })));
  if (collisions.length) throw RegistryErrors.recordNotUnique(collisions[0]!.field, `data.${collisions[0]!.field}`);
}

/** Replaces a record's row with a new version and writes that version to the history. */
export async function writeVersion(
  tx: Transaction<any>,
  registry: Registry,
  current: RecordRow,
  next: { data: Record<string, unknown>; sealed: Record<string, string>; ownerBidx: string | null; status: RecordStatus; duplicateOf?: string | null },
  change: Change,
  actorId: string,
  reason: string | null,
): Promise<RecordRow> {
  const version = current.version + 1;
  const row = await tx
    .updateTable('records')
    .set({
      version,
      data: JSON.stringify(next.data),
      sealed: JSON.stringify(next.sealed),
      owner_bidx: next.ownerBidx,
      status: next.status,
      duplicate_of: next.duplicateOf === undefined ? current.duplicate_of : next.duplicateOf,
      updated_by: actorId,
      updated_at: sql`now()`,
    })
    .where('id', '=', current.id)
    .where('version', '=', current.version)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw RegistryErrors.staleVersion();
  await tx
    .insertInto('record_versions')
    .values({ record_id: current.id, version, tenant_id: registry.tenantId, change, data: JSON.stringify(next.data), sealed: JSON.stringify(next.sealed), status: next.status, changed_by: actorId, reason })
    .execute();
  return toRow(row);
}

export async function dropIndex(tx: Transaction<any>, recordId: string): Promise<void> {
  await tx.deleteFrom('record_index').where('record_id', '=', recordId).execute();
}

/** Replaces a record's index rows; refused when another record holds one of its unique values. */
export async function reindex(tx: { db: Transaction<any> }, registry: Registry, id: string, index: IndexRow[]): Promise<void> {
  await dropIndex(tx.db, id);
  const collisions = await insertIndex(tx.db, registry, [{ id, index }]);
  if (collisions.length) throw RegistryErrors.recordNotUnique(collisions[0]!.field, `data.${collisions[0]!.field}`);
}
