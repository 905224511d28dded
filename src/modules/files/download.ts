import { createHash } from 'node:crypto';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { OperationContext } from '../../kernel/index.js';
import { FilesErrors } from './errors.js';
import type { FileRow } from './file-records.js';
import type { Variant } from './signed-urls.js';
import type { FileStore } from './stores/file-store.js';

interface StoredObject {
  key: string;
  sha256: string;
  size: number;
  contentType: string;
}

function objectOf(row: FileRow, variant: Variant): StoredObject {
  if (variant === 'content') return { key: row.storage_key, sha256: row.sha256, size: Number(row.size_bytes), contentType: row.content_type };
  if (!row.thumbnail_key || !row.thumbnail_sha256) throw FilesErrors.noThumbnail();
  return { key: row.thumbnail_key, sha256: row.thumbnail_sha256, size: Number(row.thumbnail_size), contentType: 'image/jpeg' };
}

/**
 * Streams a stored object to the client, but only after reading it once to check its SHA-256:
 * a corrupted object is refused before the first byte is sent rather than cut off half way.
 * The second read is checked too, and the connection is dropped if it differs from the first.
 */
export async function sendStoredFile(ctx: OperationContext, store: FileStore, reply: FastifyReply, row: FileRow, variant: Variant): Promise<FastifyReply> {
  const object = objectOf(row, variant);
  const etag = `"${object.sha256}"`;
  if (reply.request.headers['if-none-match'] === etag) return reply.status(304).header('etag', etag).send();
  await verify(ctx, store, object, row.id);
  const body = await store.read(object.key);
  if (!body) throw FilesErrors.contentMissing();
  if (variant === 'content') {
    await ctx.transaction((tx) =>
      tx.audit({ action: 'files.file.downloaded', entityType: 'file', entityId: row.id, tenantId: row.tenant_id, data: { via: ctx.actor.kind === 'anonymous' ? 'signed-url' : 'route' } }),
    );
  }
  return reply
    .header('content-type', object.contentType)
    .header('content-length', object.size)
    .header('etag', etag)
    .header('repr-digest', `sha-256=:${Buffer.from(object.sha256, 'hex').toString('base64')}:`)
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'private, no-cache')
    .header('content-disposition', disposition(row.name, variant))
    .send(
      pipeline(body, new Verifier(object.sha256, object.size), (err) => {
        if (err) ctx.log.warn({ err, fileId: row.id }, 'download stopped');
      }),
    );
}

async function verify(ctx: OperationContext, store: FileStore, object: StoredObject, fileId: string): Promise<void> {
  const stream = await store.read(object.key);
  if (!stream) {
    ctx.log.error({ fileId, key: object.key }, 'stored file is missing');
    throw FilesErrors.contentMissing();
  }
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  if (size !== object.size || hash.digest('hex') !== object.sha256) {
    ctx.log.error({ fileId, key: object.key }, 'stored file does not match its checksum');
    throw FilesErrors.contentCorrupted();
  }
}

/** Fails the stream (and so the response) when what went out is not what was checked. */
class Verifier extends Transform {
  readonly #hash = createHash('sha256');
  #size = 0;
  constructor(
    readonly sha256: string,
    readonly size: number,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    done(this.#size === this.size && this.#hash.digest('hex') === this.sha256 ? null : new Error('stored file changed while it was served'));
  }
}

/** RFC 6266: an ASCII fallback and the UTF-8 name. */
function disposition(name: string, variant: Variant): string {
  const shown = variant === 'thumbnail' ? `${name}.thumbnail.jpg` : name;
  const ascii = shown.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(shown)}`;
}
