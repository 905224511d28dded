import type { FastifyInstance } from 'fastify';
import { ANONYMOUS, KernelErrors, zodProblems, type ModuleRuntime } from '../../kernel/index.js';
import { bundleInput, localeBundle } from './localization.js';
import type { ReferenceState } from './reference-state.js';

export const BUNDLE_PATH = '/api/reference/v1/localization/bundles/:locale';

/**
 * The web app's locale bundle. A custom route because the answer carries an ETag and may be a
 * 304, which the operation shape (JSON in, JSON out) cannot say. Public: messages are not secret.
 */
export function localeBundleRoute(state: ReferenceState) {
  return (app: FastifyInstance, runtime: ModuleRuntime): void => {
    app.get(BUNDLE_PATH, { schema: { hide: true } }, async (request, reply) => {
      const query = (request.query ?? {}) as Record<string, unknown>;
      const parsed = bundleInput.safeParse({ ...query, locale: (request.params as { locale: string }).locale });
      if (!parsed.success) {
        throw KernelErrors.validation(parsed.error.issues.map((i) => zodProblems([i], i.path[0] === 'locale' ? 'params' : 'query')[0]!));
      }
      const { bundle, etag } = await localeBundle(runtime.context(ANONYMOUS, request.id), state, parsed.data);
      // Cacheable by browsers and proxies, but revalidated each time: a change shows at once and costs a 304 otherwise.
      reply.header('etag', etag).header('cache-control', 'public, no-cache').header('content-language', bundle.locale).header('vary', 'accept-encoding');
      const match = request.headers['if-none-match'];
      if (typeof match === 'string' && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) return reply.status(304).send();
      return reply.send(bundle);
    });
  };
}
