import { can, defineModule, defineOperation, KernelErrors, z } from '../../kernel/index.js';
import { credentialsMigrations } from './migrations.js';
import { CredentialErrors } from './errors.js';
import { correctCredential } from './correction.js';
import { CREDENTIAL_STATUSES, credentialView, findVisibleCredential, shortUrl } from './credential-records.js';
import { issueCredential } from './issuance.js';
import { didDocument, keysChanged, listKeys, retireKey, rotateKey, trustList } from './keys.js';
import { decodeCredentialFromQr, encodeCredentialForQr, QR_ERROR_CORRECTION, qrSvg, qrSymbol } from './qr.js';
import { changeStatus, forgetStatusLists, statusListCredential } from './revocation.js';
import { STATUS_PURPOSES } from './status-list.js';
import { createType, listTypes, setDisplay } from './types.js';
import { verifyHere } from './verification.js';
import { BULK_STALE_SECONDS, createBulkJob, getBulkJob } from './bulk-jobs.js';
import { resumeBulkJobs, runBulkJob } from './bulk-runner.js';
import { lookupShortCode, myCredential, myCredentials, OWN_READ } from './retrieval.js';
import { credentialsRoutes } from './routes.js';
import { attachRuntime, credentialsState, type CredentialsOptions } from './state.js';
import { CRYPTOSUITES } from './signing.js';

export { verifyCredential, type TrustList, type VerificationResult } from './verify.js';
export type { CredentialsOptions } from './state.js';
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
  cryptosuite: z.enum(CRYPTOSUITES),
  display: z.record(z.string(), z.object({ title: z.string(), subtitle: z.string().optional(), fields: z.array(z.object({ label: z.string(), value: z.string() })), footer: z.string().optional() })),
  version: z.number().int(),
});
const displayTemplate = z.object({
  title: z.string().min(1).max(200),
  subtitle: z.string().max(300).optional(),
  fields: z.array(z.object({ label: z.string().min(1).max(200), value: z.string().max(1000) })).max(40),
  footer: z.string().max(1000).optional(),
});
const displayIn = z.record(z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a BCP 47 language tag such as en or hi-IN'), displayTemplate);
const bulkJobOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.string(),
  status: z.enum(['queued', 'running', 'completed', 'failed']),
  batchSize: z.number().int(),
  counts: z.object({ rows: z.number().int(), valid: z.number().int(), invalid: z.number().int(), processed: z.number().int(), pending: z.number().int(), issued: z.number().int(), existing: z.number().int(), failed: z.number().int() }),
  throughput: z.object({ rowsPerSecond: z.number().nullable(), elapsedSeconds: z.number().nullable() }),
  errors: z.array(z.object({ row: z.number().int(), sourceRef: z.string().nullable(), errors: z.array(z.object({ path: z.string(), message: z.string() })) })),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
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
  shortUrl: z.string().nullable(),
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
const mobile = z.string().min(10).max(16);
/** The view with the short URL spelt out (the row keeps only its code). */
const withShortUrl = <T extends { shortCode: string | null }>(ctx: { config: Parameters<typeof shortUrl>[0]['config'] }, view: T) => {
  const { shortCode, ...rest } = view;
  return { ...rest, shortUrl: shortCode ? shortUrl(ctx, shortCode) : null };
};
const credentialId = z.string().min(1).max(64);

/**
 * The credentials module with its own in-memory state (keys, status lists, types, reserved
 * status positions: see `state.ts`). Each call makes a new instance, so two runtimes in one
 * process share nothing; tests pass short cache lifetimes.
 */
export function credentialsModuleWith(options: CredentialsOptions = {}) {
  const state = credentialsState(options);
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
  return defineModule({
    name: 'credentials',
    summary: 'Verifiable credentials: issuer keys (did:web), credential types, W3C VC 2.0 issuance, QR, verification, revocation',
    dependsOn: ['identity'],
    migrations: credentialsMigrations,
    routes: (app, runtime) => {
      attachRuntime(state, runtime);
      credentialsRoutes(state, app, runtime);
    },
    jobs: {
      bulkIssue: { handler: (ctx, data) => runBulkJob(state, ctx, String(data.jobId)) },
      // A worker that died mid-job (its process was killed) left the job running: send it again.
      bulkSweep: { schedule: '* * * * *', handler: async (ctx) => void (await resumeBulkJobs(ctx, BULK_STALE_SECONDS)) },
    },
    // Every start: jobs a killed process left unfinished go on (idempotent, safe from several processes).
    bootstrap: async (ctx) => void (await resumeBulkJobs(ctx, null)),
    events: {
      publishes: [
        'credentials.type.created',
        'credentials.type.updated',
        'credentials.bulk.created',
        'credentials.bulk.completed',
        'credentials.bulk.failed',
        'credentials.key.created',
        'credentials.key.rotated',
        'credentials.key.retired',
        'credentials.credential.issued',
        'credentials.credential.suspended',
        'credentials.credential.reinstated',
        'credentials.credential.revoked',
      ],
      listeners: {
        // Another process changed a key or a status: what this process holds of that tenant is stale.
        keyCache: {
          events: ['credentials.key.created', 'credentials.key.rotated', 'credentials.key.retired'],
          handler: (event) => {
            if (event.tenantId) keysChanged(state, event.tenantId);
          },
        },
        statusListCache: {
          events: ['credentials.credential.revoked', 'credentials.credential.suspended', 'credentials.credential.reinstated'],
          handler: (event) => {
            if (event.tenantId) forgetStatusLists(state, event.tenantId);
          },
        },
      },
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
          cryptosuite: z.enum(CRYPTOSUITES).default('eddsa-jcs-2022'),
          display: displayIn.default({}),
        }),
        output: typeOut,
        handler: (ctx, input) => createType(ctx, input),
      }),
      setDisplay: defineOperation({
        summary: 'Replace a credential type’s display templates (per locale), used for PDF certificates',
        permission: 'credentials.type.manage',
        http: { method: 'PUT', path: '/types/:code/display', status: 200 },
        input: z.object({ tenantId, code: z.string().min(1).max(64), display: displayIn }),
        output: typeOut,
        handler: (ctx, input) => setDisplay(ctx, input),
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
        handler: (ctx, input) => rotateKey(state, ctx, input.tenantId),
      }),
      retireKey: defineOperation({
        summary: 'Withdraw a rotated key from the DID document and trust list: what it signed stops verifying',
        permission: 'credentials.key.rotate',
        http: { method: 'POST', path: '/keys/:kid/retire', status: 200 },
        input: z.object({ tenantId, kid: z.string().min(1).max(64) }),
        output: z.object({ kid: z.string(), status: z.literal('retired') }),
        handler: (ctx, input) => retireKey(state, ctx, input.tenantId, input.kid),
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
          subjectMobile: mobile.optional(),
          claims: json,
          validFrom: z.iso.datetime({ offset: true }).optional(),
          validUntil: z.iso.datetime({ offset: true }).optional(),
        }),
        output: credentialOut.extend({ created: z.boolean() }),
        handler: async (ctx, input) => withShortUrl(ctx, await issueCredential(state, ctx, input)),
      }),
      createBulkJob: defineOperation({
        summary: 'Bulk issuance from CSV: validates every row, then issues the valid ones in batches (a job with counts)',
        description:
          'The header names the columns: `sourceRef` (required), optional `subjectId`, `mobile`, `validFrom`, `validUntil`; every other column is a claim. Refused rows are listed with their errors; the rest are issued exactly once, resuming after a crash.',
        permission: 'credentials.issue',
        http: { method: 'POST', path: '/bulk-jobs', status: 202 },
        input: z.object({ tenantId, type: z.string().min(1).max(64), csv: z.string().min(1), batchSize: z.number().int().min(1).max(2000).default(500) }),
        output: bulkJobOut,
        handler: (ctx, input) => createBulkJob(ctx, input),
      }),
      getBulkJob: defineOperation({
        summary: 'A bulk issuance job: status, counts, throughput and per-row errors',
        permission: 'credentials.issue',
        http: { method: 'GET', path: '/bulk-jobs/:id' },
        input: z.object({ id: z.string().min(1).max(64) }),
        output: bulkJobOut,
        handler: (ctx, input) => getBulkJob(ctx, input.id),
      }),
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
    },
  });
}

/** Verifiable credentials (see README.md): one instance, for the server's catalogue. */
export const credentialsModule = credentialsModuleWith();
