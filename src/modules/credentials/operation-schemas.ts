import { z } from '../../kernel/index.js';
import { CREDENTIAL_STATUSES, shortUrl } from './credential-records.js';
import { CRYPTOSUITES } from './signing.js';

/** Shapes shared by the module's operations (they are also its OpenAPI schemas). */
export const tenantId = z.string().min(1).max(100);
export const json = z.record(z.string(), z.unknown());
export const typeOut = z.object({
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
export const displayTemplate = z.object({
  title: z.string().min(1).max(200),
  subtitle: z.string().max(300).optional(),
  fields: z.array(z.object({ label: z.string().min(1).max(200), value: z.string().max(1000) })).max(40),
  footer: z.string().max(1000).optional(),
});
export const displayIn = z.record(z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a BCP 47 language tag such as en or hi-IN'), displayTemplate);
export const bulkJobOut = z.object({
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
export const credentialOut = z.object({
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
export const keyOut = z.object({
  kid: z.string(),
  verificationMethod: z.string(),
  publicKeyMultibase: z.string(),
  status: z.enum(['active', 'rotated', 'retired']),
  createdAt: z.string(),
  rotatedAt: z.string().nullable(),
  retiredAt: z.string().nullable(),
});
export const trustedKey = z.object({ id: z.string(), type: z.literal('Multikey'), controller: z.string(), publicKeyMultibase: z.string(), status: z.enum(['active', 'rotated']) });
export const trustListOut = z.object({ issuers: z.array(z.object({ id: z.string(), name: z.string().optional(), keys: z.array(trustedKey) })) });
export const verificationOut = z.object({
  verified: z.boolean(),
  issuer: z.string().nullable(),
  status: z.enum(['active', 'revoked', 'suspended', 'unknown']),
  problems: z.array(z.object({ check: z.enum(['proof', 'issuer', 'validity', 'status']), message: z.string() })),
  warnings: z.array(z.string()),
});
export const reason = z.string().min(1).max(500);
export const mobile = z.string().min(10).max(16);
/** The view with the short URL spelt out (the row keeps only its code). */
export const withShortUrl = <T extends { shortCode: string | null }>(ctx: { config: Parameters<typeof shortUrl>[0]['config'] }, view: T) => {
  const { shortCode, ...rest } = view;
  return { ...rest, shortUrl: shortCode ? shortUrl(ctx, shortCode) : null };
};
export const credentialId = z.string().min(1).max(64);
