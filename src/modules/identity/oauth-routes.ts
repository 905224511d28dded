import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import { ANONYMOUS, JWKS_PATH, systemActor, zodProblems, type ModuleRuntime } from '../../kernel/index.js';
import { OAuthErrors } from './errors.js';
import { passwordGrant, passwordGrantInput, refreshGrant, refreshGrantInput } from './grants.js';
import { publicJwks } from './signing-keys.js';

export const TOKEN_PATH = '/api/identity/v1/oauth/token';
export { JWKS_PATH };

/**
 * The OAuth 2.0 token endpoint and the JWKS. They are custom routes because OAuth clients send
 * form-encoded bodies, which the kernel's JSON-only operation routes do not accept; formbody is
 * registered in this module's own plugin scope, so no other route starts accepting forms.
 */
export async function oauthRoutes(app: FastifyInstance, runtime: ModuleRuntime): Promise<void> {
  await app.register(formbody);

  app.post(TOKEN_PATH, { schema: { hide: true } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const ctx = runtime.context(ANONYMOUS, request.id);
    let result;
    switch (body.grant_type) {
      case 'password':
        result = await passwordGrant(ctx, parse(passwordGrantInput, body));
        break;
      case 'refresh_token':
        result = await refreshGrant(ctx, parse(refreshGrantInput, body));
        break;
      case undefined:
        throw OAuthErrors.invalidRequest('grant_type is required', [{ path: 'body.grant_type', message: 'required' }]);
      default:
        throw OAuthErrors.unsupportedGrantType();
    }
    // RFC 6749 §5.1: token responses must not be cached.
    return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(result);
  });

  app.get(JWKS_PATH, { schema: { hide: true } }, async (request, reply) => {
    const keys = await publicJwks(runtime.context(systemActor('identity.jwks'), request.id));
    return reply.header('cache-control', 'public, max-age=60').send({ keys });
  });
}

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: any[] } } }, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw OAuthErrors.invalidRequest('The token request is not valid', zodProblems(parsed.error.issues, 'body'));
  return parsed.data;
}
