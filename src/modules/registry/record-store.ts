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

/** Rows per statement: columns travel as one array each (`unnest`), so the parameter count stays small. */
const BULK = 5_000;

/**
 * Writes index rows; a row colliding with another record's unique value is skipped by the
 * database, which is how a unique field is detected (no check-then-insert race).
 */
export async function insertIndex(tx: Transaction<any>, registry: Registry, entries: Array<{ id: string; index: IndexRow[] }>): Promise<Array<{ id: string; field: string }>> {
  const rows = entries.flatMap((e) => e.index.map((r) => ({ ...r, record_id: e.id })));
  const collisions: Array<{ id: string; field: string }> = [];
  for (let i = 0; i < rows.length; i += BULK) {
    const chunk = rows.slice(i, i + BULK);
    const col = <K extends keyof (typeof chunk)[number]>(k: K) => chunk.map((r) => r[k]);
    const { rows: written } = await sql<{ record_id: string; field: string }>`
      insert into registry.record_index (record_id, registry_id, tenant_id, field, value_text, value_bidx, phonetic, value_date, value_num, unique_key)
      select r, ${registry.id}, ${registry.tenantId}, f, vt, vb, ph, vd::date, vn::numeric, uk
      from unnest(${col('record_id')}::text[], ${col('field')}::text[], ${col('value_text')}::text[], ${col('value_bidx')}::text[], ${col('phonetic')}::text[], ${col('value_date')}::text[], ${col('value_num')}::text[], ${col('unique_key')}::text[])
        as u(r, f, vt, vb, ph, vd, vn, uk)
      on conflict do nothing
      returning record_id, field`.execute(tx);
    if (written.length === chunk.length) continue;
    const got = new Set(written.map((w) => `${w.record_id} ${w.field}`));
    for (const r of chunk) if (!got.has(`${r.record_id} ${r.field}`)) collisions.push({ id: r.record_id, field: r.field });
  }
  return collisions;
}

export async function insertRecords(tx: Transaction<any>, registry: Registry, actorId: string, entries: Array<{ id: string; sealed: SealedRecord }>): Promise<void> {
  for (let i = 0; i < entries.length; i += BULK) {
    const chunk = entries.slice(i, i + BULK);
    const ids = chunk.map((e) => e.id);
    const data = chunk.map((e) => JSON.stringify(e.sealed.data));
    const sealed = chunk.map((e) => JSON.stringify(e.sealed.sealed));
    await sql`
      insert into registry.records (id, tenant_id, registry_id, data, sealed, owner_bidx, created_by, updated_by)
      select id, ${registry.tenantId}, ${registry.id}, d::jsonb, s::jsonb, o, ${actorId}, ${actorId}
      from unnest(${ids}::text[], ${data}::text[], ${sealed}::text[], ${chunk.map((e) => e.sealed.ownerBidx)}::text[]) as u(id, d, s, o)`.execute(tx);
    await sql`
      insert into registry.record_versions (record_id, version, tenant_id, change, data, sealed, status, changed_by)
      select id, 1, ${registry.tenantId}, 'created', d::jsonb, s::jsonb, 'active', ${actorId}
      from unnest(${ids}::text[], ${data}::text[], ${sealed}::text[]) as u(id, d, s)`.execute(tx);
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
