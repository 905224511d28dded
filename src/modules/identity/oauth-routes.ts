import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import { ANONYMOUS, JWKS_PATH, systemActor, zodProblems, type ModuleRuntime } from '../../kernel/index.js';
import { clientCredentialsGrant, clientCredentialsInput, withBasicCredentials } from './clients.js';
import { OAuthErrors } from './errors.js';
import { passwordGrant, passwordGrantInput, refreshGrant, refreshGrantInput } from './grants.js';
import { jwksRouteOptions, otpRouteOptions, tokenRouteOptions } from './oauth-docs.js';
import { mfaOtpGrant, mfaOtpGrantInput } from './second-factor.js';
import { publicJwks } from './signing-keys.js';
import { OTP_GRANT_URN, OTP_PATH, otpGrant, otpGrantInput, otpRequestInput, parseBody, sendOtp } from './otp.js';
import { limiterKey, RateLimits, type IdentityOptions } from './rate-limits.js';
import { rootOf } from './tenants.js';

export const TOKEN_PATH = '/api/identity/v1/oauth/token';
export { JWKS_PATH };

/**
 * The OAuth 2.0 token endpoint and the JWKS. They are custom routes because OAuth clients send
 * form-encoded bodies, which the kernel's JSON-only operation routes do not accept; formbody is
 * registered in this module's own plugin scope, so no other route starts accepting forms.
 */
export async function oauthRoutes(app: FastifyInstance, runtime: ModuleRuntime, options: IdentityOptions = {}): Promise<void> {
  await app.register(formbody);
  // One set of limiters per runtime: this runs once per registration of the module's routes.
  const limits = new RateLimits(runtime.rateLimiter, options);
  const clock = options.clock ?? Date.now;

  app.post(TOKEN_PATH, tokenRouteOptions, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const ctx = runtime.context(ANONYMOUS, request.id);
    await limits.take([['tokenPerIp', request.ip], ['tokenPerIdentifier', tokenIdentifier(body)]], reply);
    let result;
    switch (body.grant_type) {
      case 'password':
        result = await passwordGrant(ctx, parse(passwordGrantInput, body));
        break;
      case 'refresh_token':
        result = await refreshGrant(ctx, parse(refreshGrantInput, body));
        break;
      case 'mfa_otp':
        result = await mfaOtpGrant(ctx, parse(mfaOtpGrantInput, body));
        break;
      case 'client_credentials':
        // RFC 6749 §5.2: a 401 invalid_client names the authentication scheme to use.
        reply.header('www-authenticate', 'Basic realm="seva", charset="UTF-8"');
        result = await clientCredentialsGrant(ctx, parse(clientCredentialsInput, withBasicCredentials(body, request.headers.authorization)));
        reply.removeHeader('www-authenticate');
        break;
      case 'otp':
      case OTP_GRANT_URN:
        result = await otpGrant(ctx, parse(otpGrantInput, body), clock);
        break;
      case undefined:
        throw OAuthErrors.invalidRequest('grant_type is required', [{ path: 'body.grant_type', message: 'required' }]);
      default:
        throw OAuthErrors.unsupportedGrantType();
    }
    // RFC 6749 §5.1: token responses must not be cached.
    return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(result);
  });

  app.post(OTP_PATH, otpRouteOptions, async (request, reply) => {
    await limits.take([['otpPerIp', request.ip]], reply);
    const input = parseBody(otpRequestInput, request.body ?? {});
    await limits.take([['otpPerIdentifier', limiterKey(input.mobile !== undefined ? 'mobile' : 'email', input.mobile ?? input.email!)]], reply);
    const ctx = runtime.context(ANONYMOUS, request.id);
    return reply.status(202).send(await sendOtp(ctx, input, clock));
  });

  app.get(JWKS_PATH, jwksRouteOptions, async (request, reply) => {
    const keys = await publicJwks(runtime.context(systemActor('identity.jwks'), request.id));
    return reply.header('cache-control', 'public, max-age=60').send({ keys });
  });
}

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: any[] } } }, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw OAuthErrors.invalidRequest('The token request is not valid', zodProblems(parsed.error.issues, 'body'));
  return parsed.data;
}

/** Who a token request is for, as a rate-limit key: the username, mobile or e-mail within its tenant root. */
function tokenIdentifier(body: Record<string, unknown>): string | undefined {
  const tenant = typeof body.tenant === 'string' ? rootOf(body.tenant) : '';
  for (const field of ['username', 'mobile', 'email'] as const) {
    const value = body[field];
    if (typeof value === 'string' && value) return limiterKey(field, `${tenant}:${value}`);
  }
  return undefined;
}
