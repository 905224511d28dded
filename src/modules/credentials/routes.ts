import type { FastifyInstance } from 'fastify';
import { can, KernelErrors, localeTag, z, type Actor, type ModuleRuntime, type OperationContext } from '../../kernel/index.js';
import { CredentialErrors } from './errors.js';
import { credentialView, findVisibleCredential, shortUrl, type CredentialRow } from './credential-records.js';
import { credentialQrPng, renderCertificatePdf } from './pdf.js';
import { myCredential, OWN_READ } from './retrieval.js';
import type { CredentialsState } from './state.js';
import { findType } from './types.js';

export const CREDENTIALS_PATH = '/api/credentials/v1';
/** The short URL's path: `<SEVA_PUBLIC_URL>/c/<code>`. */
export const SHORT_PATH = '/c';

const byId = z.object({ id: z.string().min(1).max(64) });
const pdfQuery = z.object({ locale: localeTag.default('en') });
const shortCode = z.object({ code: z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{12}$/, 'a 12-character short code') });

function requirePermission(actor: Actor, permission: string): void {
  if (can(actor, permission)) return;
  throw actor.kind === 'anonymous' ? KernelErrors.unauthenticated() : KernelErrors.forbidden(permission);
}

async function pdfOf(ctx: OperationContext, row: CredentialRow, locale: string): Promise<Buffer> {
  const type = await findType(ctx, row.tenant_id, row.type_code);
  if (!type) throw CredentialErrors.typeNotFound(row.type_code);
  const view = credentialView(row);
  return renderCertificatePdf(type, { id: row.id, credential: view.credential, issuedAt: view.issuedAt, shortUrl: row.short_code ? shortUrl(ctx, row.short_code) : null }, locale);
}

/**
 * Byte answers (PDF, PNG) and the short URL's redirect: outside the JSON operation shape, so
 * hidden from OpenAPI; each checks the caller itself (deny by default) and answers RFC 9457
 * problems through the kernel's error handler.
 */
export function credentialsRoutes(state: CredentialsState, app: FastifyInstance, runtime: ModuleRuntime): void {
  const sendPdf = (reply: any, id: string, pdf: Buffer) =>
    reply.header('content-type', 'application/pdf').header('content-disposition', `attachment; filename="${id}.pdf"`).header('cache-control', 'private, no-store').send(pdf);
  const sendPng = (reply: any, id: string, png: Buffer) =>
    reply.header('content-type', 'image/png').header('content-disposition', `inline; filename="${id}.png"`).header('cache-control', 'private, no-store').send(png);

  app.get(`${CREDENTIALS_PATH}/credentials/:id/pdf`, { schema: { hide: true, params: byId, querystring: pdfQuery } }, async (request, reply) => {
    const actor = await runtime.authenticate(request);
    requirePermission(actor, 'credentials.issue');
    const ctx = runtime.context(actor, request.id);
    const row = await findVisibleCredential(ctx, ctx.db, (request.params as { id: string }).id);
    return sendPdf(reply, row.id, await pdfOf(ctx, row, (request.query as { locale: string }).locale));
  });

  app.get(`${CREDENTIALS_PATH}/my/credentials/:id/pdf`, { schema: { hide: true, params: byId, querystring: pdfQuery } }, async (request, reply) => {
    const actor = await runtime.authenticate(request);
    requirePermission(actor, OWN_READ);
    const ctx = runtime.context(actor, request.id);
    const row = await myCredential(state, ctx, (request.params as { id: string }).id);
    return sendPdf(reply, row.id, await pdfOf(ctx, row, (request.query as { locale: string }).locale));
  });

  app.get(`${CREDENTIALS_PATH}/my/credentials/:id/qr.png`, { schema: { hide: true, params: byId } }, async (request, reply) => {
    const actor = await runtime.authenticate(request);
    requirePermission(actor, OWN_READ);
    const ctx = runtime.context(actor, request.id);
    const row = await myCredential(state, ctx, (request.params as { id: string }).id);
    return sendPng(reply, row.id, await credentialQrPng(credentialView(row).credential));
  });

  // The short URL a QR on paper points to: public, unguessable (about 70 random bits).
  app.get(`${SHORT_PATH}/:code`, { schema: { hide: true, params: shortCode } }, async (request, reply) => {
    const { code } = request.params as { code: string };
    return reply.redirect(`${CREDENTIALS_PATH}/lookup/${code}`, 302);
  });
}
