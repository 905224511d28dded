import { defineOperation, z } from '../../kernel/index.js';
import type { CredentialsState } from './state.js';
import { CREDENTIAL_STATUSES, credentialView } from './credential-records.js';
import { credentialId, credentialOut, withShortUrl } from './operation-schemas.js';
import { lookupShortCode, myCredential, myCredentials, OWN_READ } from './retrieval.js';

/** What a citizen reaches: their own credentials, and the public view behind a short URL. */
export function citizenOperations(state: CredentialsState) {
  return {
    myCredentials: defineOperation({
      summary: 'The signed-in citizen’s credentials (issued with their mobile)',
      permission: OWN_READ,
      http: { method: 'GET', path: '/my/credentials' },
      input: z.object({}),
      output: z.object({
        items: z.array(
          z.object({ id: z.string(), tenantId: z.string(), type: z.string(), typeName: z.string(), status: z.enum(CREDENTIAL_STATUSES), issuedAt: z.string(), validUntil: z.string().nullable(), shortUrl: z.string().nullable() }),
        ),
      }),
      handler: (ctx) => myCredentials(state, ctx),
    }),
    myCredential: defineOperation({
      summary: 'One of the signed-in citizen’s credentials, as JSON (also /pdf and /qr.png beside it)',
      permission: OWN_READ,
      http: { method: 'GET', path: '/my/credentials/:id' },
      input: z.object({ id: credentialId }),
      output: credentialOut,
      handler: async (ctx, input) => withShortUrl(ctx, credentialView(await myCredential(state, ctx, input.id))),
    }),
    lookup: defineOperation({
      summary: 'The public view behind a credential’s short URL: type, issuer, validity, status and whether it verifies (no claims)',
      permission: 'public',
      http: { method: 'GET', path: '/lookup/:code' },
      input: z.object({ code: z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{12}$/, 'a 12-character short code') }),
      output: z.object({
        id: z.string(),
        type: z.string(),
        typeName: z.string(),
        issuer: z.string().nullable(),
        issuedAt: z.string(),
        validFrom: z.string().nullable(),
        validUntil: z.string().nullable(),
        status: z.enum(CREDENTIAL_STATUSES),
        replacedBy: z.string().nullable(),
        verified: z.boolean(),
        problems: z.array(z.object({ check: z.enum(['proof', 'issuer', 'validity', 'status']), message: z.string() })),
      }),
      handler: (ctx, input) => lookupShortCode(state, ctx, input.code),
    }),
  };
}
