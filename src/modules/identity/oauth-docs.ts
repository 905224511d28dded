import type { RouteShorthandOptions } from 'fastify';
import { z } from '../../kernel/index.js';
import { clientCredentialsInput } from './clients.js';
import { passwordGrantInput, refreshGrantInput } from './grants.js';
import { otpGrantInput, otpRequestInput } from './otp.js';
import { mfaOtpGrantInput } from './second-factor.js';

/**
 * OpenAPI descriptions of the OAuth routes. The routes parse their bodies themselves (OAuth errors
 * have their own shape), so these schemas document without validating or serialising anything.
 */
const documentOnly: Pick<RouteShorthandOptions, 'validatorCompiler' | 'serializerCompiler'> = {
  validatorCompiler: () => (data: unknown) => ({ value: data }),
  serializerCompiler: () => (data: unknown) => JSON.stringify(data),
};

const tokenAnswer = z.object({
  access_token: z.string().describe('JWT (EdDSA), 15 minutes'),
  refresh_token: z.string().optional().describe('one use; absent for client_credentials'),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  scope: z.string().optional(),
});

const oauthProblem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().describe('INVALID_GRANT, INVALID_REQUEST, UNSUPPORTED_GRANT_TYPE, MFA_REQUIRED, INVALID_CLIENT, RATE_LIMITED'),
    detail: z.string(),
    error: z.string().optional().describe('the OAuth 2.0 error code (RFC 6749 §5.2)'),
    error_description: z.string().optional(),
    mfa_token: z.string().optional().describe('with mfa_required: use it in grant_type=mfa_otp'),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .describe('application/problem+json');

export const tokenRouteOptions: RouteShorthandOptions = {
  ...documentOnly,
  schema: {
    tags: ['identity'],
    operationId: 'identity.oauthToken',
    summary: 'OAuth 2.0 token endpoint: password, refresh_token, client_credentials, otp and mfa_otp grants',
    description:
      'JSON or application/x-www-form-urlencoded. client_credentials also accepts HTTP Basic client authentication. ' +
      'Errors are problem+json bodies that also carry OAuth `error` and `error_description`; 429 carries Retry-After.',
    consumes: ['application/json', 'application/x-www-form-urlencoded'],
    body: z.union([passwordGrantInput, refreshGrantInput, clientCredentialsInput, otpGrantInput, mfaOtpGrantInput]),
    response: { 200: tokenAnswer, 400: oauthProblem, 401: oauthProblem, 429: oauthProblem },
  },
};

export const otpRouteOptions: RouteShorthandOptions = {
  ...documentOnly,
  schema: {
    tags: ['identity'],
    operationId: 'identity.requestOtp',
    summary: 'Send a 6-digit one-time code to a mobile number or e-mail (then use grant_type=otp)',
    description: 'Answers 202 whether or not an account exists. Limited per identifier and per client address (429 with Retry-After).',
    body: otpRequestInput,
    response: { 202: z.object({ sent: z.literal(true), expiresIn: z.number().int() }), 400: oauthProblem, 404: oauthProblem, 429: oauthProblem },
  },
};

export const jwksRouteOptions: RouteShorthandOptions = {
  ...documentOnly,
  schema: {
    tags: ['identity'],
    operationId: 'identity.jwks',
    summary: 'Public keys (JWKS) that verify access tokens, including retired keys until their tokens expire',
    response: { 200: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) },
  },
};
