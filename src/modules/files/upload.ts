import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isSevaError, newId, type OperationContext } from '../../kernel/index.js';
import { toMetadata, type FileMetadata, type FileRow } from './file-records.js';
import { IngestStream } from './ingest.js';
import { effectiveLimit } from './limits.js';
import { THUMBNAIL_SOURCES, type Purpose } from './purposes.js';
import type { FileStore } from './stores/file-store.js';
import { storeThumbnail } from './thumbnails.js';

export interface UploadRequest {
  tenantId: string;
  purpose: Purpose;
  /** The client's name for the file; shown back, never used to decide its type. */
  name: string | undefined;
}

/**
 * Streams one upload into the store and records it. The bytes pass through the sniffer, the
 * hash and the size limit on their way; the row, its audit entry and its event are written in
 * one transaction only after the bytes are stored. On any failure the stored bytes are removed,
 * so a failed upload leaves neither a row nor an object.
 */
export async function receiveUpload(ctx: OperationContext, store: FileStore, source: Readable, request: UploadRequest): Promise<FileMetadata> {
  const { maxBytes } = await effectiveLimit(ctx, request.tenantId);
  const id = newId('file');
  const key = `${request.tenantId}/${id}`;
  const thumbnailKey = `${key}.thumb`;
  const ingest = new IngestStream(maxBytes, request.purpose);
  try {
    await settleBoth(pipeline(source, ingest), store.write(key, ingest));
    const received = ingest.result;
    const thumbnail = THUMBNAIL_SOURCES.has(received.contentType) ? await storeThumbnail(store, key, thumbnailKey) : undefined;
    const row = await ctx.transaction(async (tx) => {
      const inserted = (await tx.db
        .insertInto('files')
        .values({
          id,
          tenant_id: request.tenantId,
          owner_id: ctx.actor.id,
          purpose: request.purpose,
          name: cleanName(request.name),
          content_type: received.contentType,
          size_bytes: received.size,
          sha256: received.sha256,
          store: store.kind,
          storage_key: key,
          thumbnail_key: thumbnail ? thumbnailKey : null,
          thumbnail_sha256: thumbnail?.sha256 ?? null,
          thumbnail_size: thumbnail?.size ?? null,
        })
        .returningAll()
        .executeTakeFirstOrThrow()) as FileRow;
      const facts = { purpose: request.purpose, contentType: received.contentType, size: received.size, sha256: received.sha256 };
      await tx.audit({ action: 'files.file.uploaded', entityType: 'file', entityId: id, tenantId: request.tenantId, data: facts });
      await tx.emit({ name: 'files.file.uploaded', tenantId: request.tenantId, payload: { fileId: id, ownerId: ctx.actor.id, ...facts } });
      return inserted;
    });
    return toMetadata(row);
  } catch (err) {
    await Promise.all([store.remove(key), store.remove(thumbnailKey)]).catch((cleanupError: unknown) =>
      ctx.log.error({ err: cleanupError, fileId: id }, 'a failed upload left bytes in the store'),
    );
    throw err;
  }
}

/**
 * Waits for the client side and the store side of an upload. When one fails the other fails
 * too (the shared stream is destroyed); the reason reported is ours (size, type) when there
 * is one, not the "premature close" it caused on the other side.
 */
async function settleBoth(a: Promise<void>, b: Promise<void>): Promise<void> {
  const results = await Promise.allSettled([a, b]);
  const reasons = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (reasons.length > 0) throw reasons.find(isSevaError) ?? reasons[0];
}

/** A display name: no folders, no control characters, at most 200 characters. */
export function cleanName(name: string | undefined): string {
  const cleaned = basename((name ?? '').replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 200);
  return cleaned || 'file';
}
