import { can, defineOperation, KernelErrors, z } from '../../kernel/index.js';
import { correctCredential } from './correction.js';
import { credentialView, findVisibleCredential, shortUrl } from './credential-records.js';
import { credentialId, credentialOut, json, reason, withShortUrl } from './operation-schemas.js';
import { encodeCredentialForQr, QR_ERROR_CORRECTION, qrSvg, qrSymbol } from './qr.js';
import { changeStatus } from './revocation.js';
import type { CredentialsState } from './state.js';

/** An issued credential: reading it, its QR, and its status over its life (suspend, reinstate, revoke, correct). */
export function credentialOperations(state: CredentialsState) {
  /** Suspend, reinstate and revoke: the same call with the status each one sets. */
  const statusOperation = (summary: string, verb: string, status: 'suspended' | 'active' | 'revoked') =>
    defineOperation({
      summary,
      permission: 'credentials.revoke',
      http: { method: 'POST', path: `/credentials/:id/${verb}`, status: 200 },
      input: z.object({ id: credentialId, reason }),
      output: credentialOut,
      handler: async (ctx, input) => withShortUrl(ctx, await changeStatus(state, ctx, input.id, status, input.reason)),
    });
  return {
    getCredential: defineOperation({
      summary: 'Read an issued credential',
      permission: 'credentials.issue',
      http: { method: 'GET', path: '/credentials/:id' },
      input: z.object({ id: credentialId }),
      output: credentialOut,
      handler: async (ctx, input) => withShortUrl(ctx, credentialView(await findVisibleCredential(ctx, ctx.db, input.id))),
    }),
    credentialQr: defineOperation({
      summary: 'The whole signed credential as a QR payload (CBOR, deflate, base45) with its QR version at error correction M',
      permission: 'credentials.issue',
      http: { method: 'GET', path: '/credentials/:id/qr' },
      input: z.object({ id: credentialId }),
      output: z.object({
        payload: z.string(),
        version: z.number().int(),
        errorCorrection: z.literal('M'),
        svg: z.string(),
        shortUrl: z.string().nullable(),
        shortUrlSvg: z.string().nullable(),
      }),
      handler: async (ctx, input) => {
        const { credential, shortCode } = credentialView(await findVisibleCredential(ctx, ctx.db, input.id));
        const payload = encodeCredentialForQr(credential);
        const link = shortCode ? shortUrl(ctx, shortCode) : null;
        return { payload, version: qrSymbol(payload).version, errorCorrection: QR_ERROR_CORRECTION, svg: await qrSvg(payload), shortUrl: link, shortUrlSvg: link ? await qrSvg(link) : null };
      },
    }),
    suspend: statusOperation('Suspend a credential (reversible)', 'suspend', 'suspended'),
    reinstate: statusOperation('Lift a suspension', 'reinstate', 'active'),
    revoke: statusOperation('Revoke a credential (final)', 'revoke', 'revoked'),
    correct: defineOperation({
      summary: 'Correct a credential: a new one with the corrected claims for the same source, the old one revoked, both linked',
      description: 'Needs credentials.revoke and credentials.issue.',
      permission: 'credentials.revoke',
      http: { method: 'POST', path: '/credentials/:id/correct' },
      input: z.object({
        id: credentialId,
        claims: json,
        subjectId: z.string().min(1).max(500).optional(),
        validFrom: z.iso.datetime({ offset: true }).optional(),
        validUntil: z.iso.datetime({ offset: true }).optional(),
        reason,
      }),
      output: credentialOut,
      handler: async (ctx, input) => {
        if (!can(ctx.actor, 'credentials.issue')) throw KernelErrors.forbidden('credentials.issue');
        return withShortUrl(ctx, await correctCredential(state, ctx, input));
      },
    }),
  };
}
