import { defineOperation, z } from '../../kernel/index.js';
import type { CredentialsState } from './state.js';
import { CredentialErrors } from './errors.js';
import { didDocument, trustList } from './keys.js';
import { json, tenantId, trustedKey, trustListOut, verificationOut } from './operation-schemas.js';
import { decodeCredentialFromQr } from './qr.js';
import { statusListCredential } from './revocation.js';
import { STATUS_PURPOSES } from './status-list.js';
import { verifyHere } from './verification.js';

/** The public side: verification, the trust list, DID documents and status lists. */
export function verificationOperations(state: CredentialsState) {
  return {
    verify: defineOperation({
      summary: 'Verify a credential: proof, issuer against the trust list, validity period, revocation and suspension',
      permission: 'public',
      http: { method: 'POST', path: '/verify', status: 200 },
      input: z.object({ credential: json }),
      output: verificationOut,
      handler: (ctx, input) => verifyHere(state, ctx, input.credential),
    }),
    verifyQr: defineOperation({
      summary: 'Decode a credential QR payload and verify it',
      permission: 'public',
      http: { method: 'POST', path: '/verify/qr', status: 200 },
      input: z.object({ qr: z.string().min(1).max(8000) }),
      output: verificationOut.extend({ credential: json }),
      handler: async (ctx, input) => {
        let credential;
        try {
          credential = decodeCredentialFromQr(input.qr);
        } catch (err) {
          throw CredentialErrors.qrInvalid((err as Error).message);
        }
        return { ...(await verifyHere(state, ctx, credential)), credential };
      },
    }),
    trustList: defineOperation({
      summary: 'The trust list: every issuer of this deployment with the keys a verifier may trust (cacheable)',
      permission: 'public',
      http: { method: 'GET', path: '/trust-list' },
      input: z.object({}),
      output: trustListOut,
      handler: (ctx) => trustList(ctx),
    }),
    didDocument: defineOperation({
      summary: 'The issuer’s did:web DID document (did:web:<host>:api:credentials:v1:issuers:<tenant>)',
      permission: 'public',
      http: { method: 'GET', path: '/issuers/:issuer/did.json' },
      input: z.object({ issuer: tenantId }),
      output: z.object({
        '@context': z.array(z.string()),
        id: z.string(),
        verificationMethod: z.array(trustedKey.omit({ status: true })),
        assertionMethod: z.array(z.string()),
      }),
      handler: (ctx, input) => didDocument(ctx, input.issuer),
    }),
    statusList: defineOperation({
      summary: 'A Bitstring Status List credential (revocation or suspension), signed; cache until validUntil',
      permission: 'public',
      http: { method: 'GET', path: '/status-lists/:issuer/:purpose/:list' },
      input: z.object({ issuer: tenantId, purpose: z.enum(STATUS_PURPOSES), list: z.coerce.number().int().min(0) }),
      output: json,
      handler: (ctx, input) => statusListCredential(state, ctx, input.issuer, input.purpose, input.list),
    }),
  };
}
