import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { ANONYMOUS, can, KernelErrors, SevaError, tenantCovers, z, type Actor, type ModuleRuntime } from '../../kernel/index.js';
import { sendStoredFile } from './download.js';
import { FilesErrors } from './errors.js';
import { findVisibleFile, type FileRow } from './file-records.js';
import { FilesPermissions } from './permissions.js';
import { PURPOSE_NAMES } from './purposes.js';
import { SIGNED_PATH, signatureMatches } from './signed-urls.js';
import { releaseStore, storeFor } from './stores/select-store.js';
import { receiveUpload } from './upload.js';

export const FILES_PATH = '/api/files/v1/files';
/** Busboy's own cap, above any tenant limit (SEVA_FILES_MAX_BYTES allows at most 1 GiB); ours applies first. */
const MAX_FILE_BYTES = 1024 * 1024 * 1024 + 1;

const uploadQuery = z.object({
  purpose: z.enum(PURPOSE_NAMES),
  name: z.string().max(500).optional(),
  /** The tenant the file belongs to: the uploader's own (default) or one below it. */
  tenantId: z.string().min(1).max(100).optional(),
});
const byId = z.object({ id: z.string().regex(/^file_[0-9a-z]{26}$/, 'a file id (file_…)') });
const signedQuery = z.object({
  variant: z.enum(['content', 'thumbnail']).default('content'),
  expires: z.coerce.number().int().min(0),
  signature: z.string().min(1).max(100),
});

/**
 * Upload and download move bytes as streams, which the kernel's JSON operation routes do not
 * do; these routes check the caller themselves (deny by default) and hand the work to
 * upload.ts and download.ts. They are hidden from OpenAPI and described in README.md.
 */
export async function filesRoutes(app: FastifyInstance, runtime: ModuleRuntime): Promise<void> {
  const { config } = runtime;
  // Made now, so a store that is configured wrong stops the boot with one clear line.
  const store = storeFor(config);
  app.addHook('onClose', () => releaseStore(config));

  // In this plugin scope only: bodies are streams we read ourselves, never parsed and never
  // bound by SEVA_BODY_LIMIT (the tenant's file limit applies instead, while streaming).
  app.removeAllContentTypeParsers();
  await app.register(multipart, { limits: { files: 1, parts: 10, fields: 5, fileSize: MAX_FILE_BYTES } });
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.post(FILES_PATH, { schema: { hide: true, querystring: uploadQuery } }, async (request, reply) => {
    const actor = await runtime.authenticate(request);
    requirePermission(actor, FilesPermissions.upload);
    const query = request.query as z.infer<typeof uploadQuery>;
    const tenantId = uploadTenant(actor, query.tenantId);
    const ctx = runtime.context(actor, request.id);
    try {
      let source: Readable = request.raw;
      let name = query.name;
      if (request.isMultipart()) {
        const part = await request.file();
        if (!part) throw FilesErrors.noFilePart();
        source = part.file;
        name ??= part.filename;
      }
      const file = await receiveUpload(ctx, store, source, { tenantId, purpose: query.purpose, name });
      return reply.status(201).send(file);
    } catch (err) {
      discardRestOfBody(request);
      throw err;
    }
  });

  for (const variant of ['content', 'thumbnail'] as const) {
    app.get(`${FILES_PATH}/:id/${variant}`, { schema: { hide: true, params: byId } }, async (request, reply) => {
      const actor = await runtime.authenticate(request);
      requirePermission(actor, FilesPermissions.read);
      const ctx = runtime.context(actor, request.id);
      const row = await findVisibleFile(ctx, (request.params as { id: string }).id, FilesPermissions.readAny);
      return sendStoredFile(ctx, store, reply, row, variant);
    });
  }

  app.get(`${SIGNED_PATH}/:id`, { schema: { hide: true, params: byId, querystring: signedQuery } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const { variant, expires, signature } = request.query as z.infer<typeof signedQuery>;
    if (expires * 1000 <= Date.now()) throw FilesErrors.urlExpired();
    const ctx = runtime.context(ANONYMOUS, request.id);
    const row = (await ctx.db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst()) as FileRow | undefined;
    if (!row || !signatureMatches(ctx, row, variant, expires, signature)) throw FilesErrors.urlInvalid();
    if (row.status !== 'active') throw FilesErrors.fileNotFound();
    return sendStoredFile(ctx, store, reply, row, variant);
  });
}

function requirePermission(actor: Actor, permission: string): void {
  if (can(actor, permission)) return;
  throw actor.kind === 'anonymous' ? KernelErrors.unauthenticated() : KernelErrors.forbidden(permission);
}

/** The tenant a new file belongs to; the same rule the kernel applies to operation inputs. */
function uploadTenant(actor: Actor, requested: string | undefined): string {
  const tenantId = requested ?? actor.tenantId;
  if (!tenantId) throw KernelErrors.validation([{ path: 'query.tenantId', message: 'required for a caller without a tenant' }]);
  if (actor.kind === 'user' && actor.tenantId && !tenantCovers(actor.tenantId, tenantId)) {
    throw new SevaError('TENANT_FORBIDDEN', 403, `Tenant ${tenantId} is outside the caller's tenant ${actor.tenantId}`, [{ path: 'query.tenantId', message: 'outside your tenant' }], {
      field: 'tenantId',
    });
  }
  return tenantId;
}

/**
 * After a refusal the client may still be sending (a 50 MB body against a 1 MB limit): the
 * rest is read and dropped, never kept, so the answer reaches the client and the connection
 * stays usable, the way a web server's lingering close does.
 */
function discardRestOfBody(request: FastifyRequest): void {
  if (!request.raw.readableEnded) request.raw.resume();
}
