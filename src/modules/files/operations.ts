import { can, defineOperation, sql, z } from '../../kernel/index.js';
import { FilesErrors } from './errors.js';
import { fileMetadata, findVisibleFile, toMetadata, type FileRow } from './file-records.js';
import { FilesPermissions } from './permissions.js';
import { signedUrl } from './signed-urls.js';

const fileId = z.string().regex(/^file_[0-9a-z]{26}$/, 'a file id (file_…)');
const recordRef = {
  recordType: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'a record type such as services.application'),
  recordId: z.string().min(1).max(100),
};

export const fileOperations = {
  getFile: defineOperation({
    summary: 'A file’s metadata (type, size, SHA-256, record); the owner’s or, with files.any.read, any of the tenant’s',
    permission: FilesPermissions.read,
    http: { method: 'GET', path: '/files/:id' },
    input: z.object({ id: fileId }),
    output: fileMetadata,
    handler: async (ctx, input) => toMetadata(await findVisibleFile(ctx, input.id, FilesPermissions.readAny)),
  }),

  listFiles: defineOperation({
    summary: 'Files, newest first: one’s own, or with files.any.read those of a tenant and below, optionally of one record',
    permission: FilesPermissions.read,
    http: { method: 'GET', path: '/files' },
    input: z.object({
      tenantId: z.string().min(1).max(100).optional(),
      recordType: recordRef.recordType.optional(),
      recordId: recordRef.recordId.optional(),
      limit: z.coerce.number().int().min(1).max(100).default(50),
    }),
    output: z.object({ items: z.array(fileMetadata) }),
    async handler(ctx, input) {
      const tenant = input.tenantId ?? ctx.actor.tenantId;
      let query = ctx.db.selectFrom('files').selectAll().where('status', '=', 'active');
      if (ctx.actor.kind !== 'system') {
        if (!tenant) return { items: [] };
        query = query.where((eb) => eb.or([eb('tenant_id', '=', tenant), sql<boolean>`starts_with(tenant_id, ${`${tenant}.`})`]));
        if (!can(ctx.actor, FilesPermissions.readAny)) query = query.where('owner_id', '=', ctx.actor.id);
      } else if (input.tenantId) query = query.where('tenant_id', '=', input.tenantId);
      if (input.recordType) query = query.where('record_type', '=', input.recordType);
      if (input.recordId) query = query.where('record_id', '=', input.recordId);
      const rows = (await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(input.limit).execute()) as FileRow[];
      return { items: rows.map(toMetadata) };
    },
  }),

  deleteFile: defineOperation({
    summary: 'Delete a file (soft: the record stays, the bytes go with the retention job); not while attached',
    permission: FilesPermissions.delete,
    http: { method: 'DELETE', path: '/files/:id' },
    input: z.object({ id: fileId }),
    output: z.object({ id: z.string(), deleted: z.literal(true) }),
    async handler(ctx, input) {
      const row = await findVisibleFile(ctx, input.id, FilesPermissions.deleteAny);
      if (row.record_id) throw FilesErrors.attached();
      await ctx.transaction(async (tx) => {
        const updated = await tx.db
          .updateTable('files')
          .set({ status: 'deleted', deleted_at: new Date(), deleted_by: ctx.actor.id })
          .where('id', '=', row.id)
          .where('status', '=', 'active')
          .where('record_id', 'is', null)
          .returning('id')
          .executeTakeFirst();
        if (!updated) throw FilesErrors.fileNotFound();
        await tx.audit({ action: 'files.file.deleted', entityType: 'file', entityId: row.id, tenantId: row.tenant_id, data: { ownerId: row.owner_id } });
        await tx.emit({ name: 'files.file.deleted', tenantId: row.tenant_id, payload: { fileId: row.id } });
      });
      return { id: row.id, deleted: true as const };
    },
  }),

  attachFile: defineOperation({
    summary: 'Attach a file to a record (an application, a grievance…): attached files are kept, unattached ones expire',
    description: 'Called by other modules when a record takes a file. Attaching again to the same record is a no-op.',
    permission: FilesPermissions.attach,
    http: { method: 'POST', path: '/files/:id/attach', status: 200 },
    input: z.object({ id: fileId, ...recordRef }),
    output: fileMetadata,
    async handler(ctx, input) {
      const row = await findVisibleFile(ctx, input.id, FilesPermissions.readAny);
      if (row.record_type === input.recordType && row.record_id === input.recordId) return toMetadata(row);
      if (row.record_id) throw FilesErrors.attachedElsewhere();
      const updated = await ctx.transaction(async (tx) => {
        const after = (await tx.db
          .updateTable('files')
          .set({ record_type: input.recordType, record_id: input.recordId, attached_at: new Date() })
          .where('id', '=', row.id)
          .where('status', '=', 'active')
          .where('record_id', 'is', null)
          .returningAll()
          .executeTakeFirst()) as FileRow | undefined;
        if (!after) throw FilesErrors.attachedElsewhere();
        const record = { recordType: input.recordType, recordId: input.recordId };
        await tx.audit({ action: 'files.file.attached', entityType: 'file', entityId: row.id, tenantId: row.tenant_id, data: record });
        await tx.emit({ name: 'files.file.attached', tenantId: row.tenant_id, payload: { fileId: row.id, ...record } });
        return after;
      });
      return toMetadata(updated);
    },
  }),

  createDownloadUrl: defineOperation({
    summary: 'A short-lived signed link to download a file (or its thumbnail) without credentials',
    permission: FilesPermissions.read,
    http: { method: 'POST', path: '/files/:id/download-url', status: 200 },
    input: z.object({
      id: fileId,
      variant: z.enum(['content', 'thumbnail']).default('content'),
      expiresIn: z.number().int().min(1).max(3600).default(300),
    }),
    output: z.object({ url: z.string(), expiresAt: z.string() }),
    async handler(ctx, input) {
      const row = await findVisibleFile(ctx, input.id, FilesPermissions.readAny);
      if (input.variant === 'thumbnail' && !row.thumbnail_key) throw FilesErrors.noThumbnail();
      // Rounded up: a link lives at least the seconds asked for.
      const expires = Math.ceil((Date.now() + input.expiresIn * 1000) / 1000);
      await ctx.transaction((tx) =>
        tx.audit({ action: 'files.file.url_issued', entityType: 'file', entityId: row.id, tenantId: row.tenant_id, data: { variant: input.variant, expires } }),
      );
      return { url: signedUrl(ctx, row, input.variant, expires), expiresAt: new Date(expires * 1000).toISOString() };
    },
  }),
};
