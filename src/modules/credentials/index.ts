import { can, defineModule, defineOperation, KernelErrors, z } from '../../kernel/index.js';
import { credentialsMigrations } from './migrations.js';
import { CredentialErrors } from './errors.js';
import { correctCredential, CREDENTIAL_STATUSES, credentialView, findVisibleCredential, issueCredential } from './issuance.js';
import { didDocument, listKeys, retireKey, rotateKey, trustList } from './keys.js';
import { decodeCredentialFromQr, encodeCredentialForQr, QR_ERROR_CORRECTION, qrSvg, qrSymbol } from './qr.js';
import { changeStatus, statusListCredential } from './revocation.js';
import { STATUS_PURPOSES } from './status-list.js';
import { createType, listTypes } from './types.js';
import { verifyHere } from './verification.js';

export { verifyCredential, type TrustList, type VerificationResult } from './verify.js';
export { decodeCredentialFromQr, encodeCredentialForQr } from './qr.js';

const tenantId = z.string().min(1).max(100);
const json = z.record(z.string(), z.unknown());
const typeOut = z.object({
  tenantId: z.string(),
  code: z.string(),
  name: z.string(),
  vcType: z.string(),
  claimsSchema: json,
  validityDays: z.number().int().nullable(),
  version: z.number().int(),
});
const credentialOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.string(),
  sourceRef: z.string(),
  status: z.enum(CREDENTIAL_STATUSES),
  statusReason: z.string().nullable(),
  issuedAt: z.string(),
  replaces: z.string().nullable(),
  replacedBy: z.string().nullable(),
  credential: json,
});
const keyOut = z.object({
  kid: z.string(),
  verificationMethod: z.string(),
  publicKeyMultibase: z.string(),
  status: z.enum(['active', 'rotated', 'retired']),
  createdAt: z.string(),
  rotatedAt: z.string().nullable(),
  retiredAt: z.string().nullable(),
});
const trustedKey = z.object({ id: z.string(), type: z.literal('Multikey'), controller: z.string(), publicKeyMultibase: z.string(), status: z.enum(['active', 'rotated']) });
const trustListOut = z.object({ issuers: z.array(z.object({ id: z.string(), name: z.string().optional(), keys: z.array(trustedKey) })) });
const verificationOut = z.object({
  verified: z.boolean(),
  issuer: z.string().nullable(),
  status: z.enum(['active', 'revoked', 'suspended', 'unknown']),
  problems: z.array(z.object({ check: z.enum(['proof', 'issuer', 'validity', 'status']), message: z.string() })),
  warnings: z.array(z.string()),
});
const reason = z.string().min(1).max(500);
const credentialId = z.string().min(1).max(64);

export const credentialsModule = defineModule({
  name: 'credentials',
  summary: 'Verifiable credentials: issuer keys (did:web), credential types, W3C VC 2.0 issuance, QR, verification, revocation',
  dependsOn: ['identity'],
  migrations: credentialsMigrations,
  events: {
    publishes: [
      'credentials.type.created',
      'credentials.key.rotated',
      'credentials.key.retired',
      'credentials.credential.issued',
      'credentials.credential.suspended',
      'credentials.credential.reinstated',
      'credentials.credential.revoked',
    ],
  },
  operations: {
    createType: defineOperation({
      summary: 'Define a credential type: claims JSON Schema, VC type, validity period',
      permission: 'credentials.type.manage',
      http: { method: 'POST', path: '/types' },
      input: z.object({
        tenantId,
        code: z.string().regex(/^[a-z][a-z0-9_.-]{1,63}$/, 'lowercase letters, digits, _ . -'),
        name: z.string().min(1).max(200),
        vcType: z.string().regex(/^[A-Z][A-Za-z0-9]{1,63}$/, 'a PascalCase term such as VaccinationCertificate'),
        claimsSchema: json,
        validityDays: z.number().int().min(1).max(36_500).nullable().default(null),
      }),
      output: typeOut,
      handler: (ctx, input) => createType(ctx, input),
    }),
    listTypes: defineOperation({
      summary: 'List the credential types of a tenant',
      permission: 'credentials.issue',
      http: { method: 'GET', path: '/types' },
      input: z.object({ tenantId }),
      output: z.object({ items: z.array(typeOut) }),
      handler: async (ctx, input) => ({ items: await listTypes(ctx, input.tenantId) }),
    }),
    rotateKey: defineOperation({
      summary: 'Make a new signing key for a tenant; the previous one stops signing but still verifies',
      permission: 'credentials.key.rotate',
      http: { method: 'POST', path: '/keys/rotate', status: 200 },
      input: z.object({ tenantId }),
      output: z.object({ kid: z.string(), rotated: z.string().nullable() }),
      handler: (ctx, input) => rotateKey(ctx, input.tenantId),
    }),
    retireKey: defineOperation({
      summary: 'Withdraw a rotated key from the DID document and trust list: what it signed stops verifying',
      permission: 'credentials.key.rotate',
      http: { method: 'POST', path: '/keys/:kid/retire', status: 200 },
      input: z.object({ tenantId, kid: z.string().min(1).max(64) }),
      output: z.object({ kid: z.string(), status: z.literal('retired') }),
      handler: (ctx, input) => retireKey(ctx, input.tenantId, input.kid),
    }),
    listKeys: defineOperation({
      summary: 'List a tenant’s signing keys (public halves) with their status',
      permission: 'credentials.key.rotate',
      http: { method: 'GET', path: '/keys' },
      input: z.object({ tenantId }),
      output: z.object({ items: z.array(keyOut) }),
      handler: async (ctx, input) => ({ items: await listKeys(ctx, input.tenantId) }),
    }),
    issue: defineOperation({
      summary: 'Issue a W3C VC 2.0 credential (eddsa-jcs-2022); idempotent by type and source reference',
      permission: 'credentials.issue',
      http: { method: 'POST', path: '/credentials' },
      input: z.object({
        tenantId,
        type: z.string().min(1).max(64),
        sourceRef: z.string().min(1).max(200),
        subjectId: z.string().min(1).max(500).optional(),
        claims: json,
        validFrom: z.iso.datetime({ offset: true }).optional(),
        validUntil: z.iso.datetime({ offset: true }).optional(),
      }),
      output: credentialOut.extend({ created: z.boolean() }),
      handler: (ctx, input) => issueCredential(ctx, input),
    }),
    getCredential: defineOperation({
      summary: 'Read an issued credential',
      permission: 'credentials.issue',
      http: { method: 'GET', path: '/credentials/:id' },
      input: z.object({ id: credentialId }),
      output: credentialOut,
      handler: async (ctx, input) => credentialView(await findVisibleCredential(ctx, ctx.db, input.id)),
    }),
    credentialQr: defineOperation({
      summary: 'The whole signed credential as a QR payload (CBOR, deflate, base45) with its QR version at error correction M',
      permission: 'credentials.issue',
      http: { method: 'GET', path: '/credentials/:id/qr' },
      input: z.object({ id: credentialId }),
      output: z.object({ payload: z.string(), version: z.number().int(), errorCorrection: z.literal('M'), svg: z.string() }),
      handler: async (ctx, input) => {
        const { credential } = credentialView(await findVisibleCredential(ctx, ctx.db, input.id));
        const payload = encodeCredentialForQr(credential);
        return { payload, version: qrSymbol(payload).version, errorCorrection: QR_ERROR_CORRECTION, svg: await qrSvg(payload) };
      },
    }),
    suspend: defineOperation({
      summary: 'Suspend a credential (reversible)',
      permission: 'credentials.revoke',
      http: { method: 'POST', path: '/credentials/:id/suspend', status: 200 },
      input: z.object({ id: credentialId, reason }),
      output: credentialOut,
      handler: (ctx, input) => changeStatus(ctx, input.id, 'suspended', input.reason),
    }),
    reinstate: defineOperation({
      summary: 'Lift a suspension',
      permission: 'credentials.revoke',
      http: { method: 'POST', path: '/credentials/:id/reinstate', status: 200 },
      input: z.object({ id: credentialId, reason }),
      output: credentialOut,
      handler: (ctx, input) => changeStatus(ctx, input.id, 'active', input.reason),
    }),
    revoke: defineOperation({
      summary: 'Revoke a credential (final)',
      permission: 'credentials.revoke',
      http: { method: 'POST', path: '/credentials/:id/revoke', status: 200 },
      input: z.object({ id: credentialId, reason }),
      output: credentialOut,
      handler: (ctx, input) => changeStatus(ctx, input.id, 'revoked', input.reason),
    }),
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
        return correctCredential(ctx, input);
      },
    }),
    verify: defineOperation({
      summary: 'Verify a credential: proof, issuer against the trust list, validity period, revocation and suspension',
      permission: 'public',
      http: { method: 'POST', path: '/verify', status: 200 },
      input: z.object({ credential: json }),
      output: verificationOut,
      handler: (ctx, input) => verifyHere(ctx, input.credential),
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
        return { ...(await verifyHere(ctx, credential)), credential };
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
      handler: (ctx, input) => statusListCredential(ctx, input.issuer, input.purpose, input.list),
    }),
  },
});
