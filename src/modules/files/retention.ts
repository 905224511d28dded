import { sql, type JobDef, type OperationContext } from '../../kernel/index.js';
import type { FileRow } from './file-records.js';
import { storeFor } from './stores/select-store.js';

const BATCH = 200;

/**
 * Files nobody attached to a record within SEVA_FILES_ORPHAN_TTL_HOURS expire, and deleted files
 * lose their bytes after the same time. Bytes go first, then the row changes with its audit
 * entry: a crash in between leaves a row the next run finishes (removing is idempotent), never
 * a row that claims bytes that are gone without saying so.
 */
export async function expireFiles(ctx: OperationContext): Promise<{ expired: number; purged: number }> {
  const store = storeFor(ctx.config);
  const cutoff = new Date(Date.now() - ctx.config.filesOrphanTtlHours * 3600_000);
  let expired = 0;
  let purged = 0;
  for (;;) {
    const orphans = (await ctx.db
      .selectFrom('files')
      .selectAll()
      .where('status', '=', 'active')
      .where('record_id', 'is', null)
      .where('created_at', '<', cutoff)
      .orderBy('created_at')
      .limit(BATCH)
      .execute()) as FileRow[];
    for (const row of orphans) {
      await removeBytes(store, row);
      const done = await ctx.transaction(async (tx) => {
        const updated = await tx.db
          .updateTable('files')
          .set({ status: 'expired', bytes_removed_at: sql`now()` })
          .where('id', '=', row.id)
          .where('status', '=', 'active')
          .where('record_id', 'is', null)
          .returning('id')
          .executeTakeFirst();
        if (!updated) return false;
        await tx.audit({ action: 'files.file.expired', entityType: 'file', entityId: row.id, tenantId: row.tenant_id, data: { reason: 'unattached', createdAt: String(row.created_at) } });
        await tx.emit({ name: 'files.file.expired', tenantId: row.tenant_id, payload: { fileId: row.id } });
        return true;
      });
      if (done) expired++;
      // A file attached between the select and now lost its bytes: say so loudly.
      else ctx.log.error({ fileId: row.id }, 'a file was attached while it expired');
    }
    if (orphans.length < BATCH) break;
  }
  for (;;) {
    const deleted = (await ctx.db
      .selectFrom('files')
      .selectAll()
      .where('status', '=', 'deleted')
      .where('bytes_removed_at', 'is', null)
      .where('deleted_at', '<', cutoff)
      .orderBy('deleted_at')
      .limit(BATCH)
      .execute()) as FileRow[];
    for (const row of deleted) {
      await removeBytes(store, row);
      await ctx.transaction(async (tx) => {
        await tx.db.updateTable('files').set({ bytes_removed_at: sql`now()` }).where('id', '=', row.id).execute();
        await tx.audit({ action: 'files.file.purged', entityType: 'file', entityId: row.id, tenantId: row.tenant_id, data: { reason: 'deleted' } });
      });
      purged++;
    }
    if (deleted.length < BATCH) break;
  }
  if (expired + purged > 0) ctx.log.info({ expired, purged }, 'files retention');
  return { expired, purged };
}

async function removeBytes(store: ReturnType<typeof storeFor>, row: FileRow): Promise<void> {
  await store.remove(row.storage_key);
  if (row.thumbnail_key) await store.remove(row.thumbnail_key);
}

export const retentionJobs: Record<string, JobDef> = {
  /** Hourly, at a minute no other timer uses. */
  expireFiles: { schedule: '23 * * * *', handler: async (ctx) => void (await expireFiles(ctx)) },
};
