import { defineOperation, z } from '../../kernel/index.js';
import type { CredentialsState } from './state.js';
import { createBulkJob, getBulkJob } from './bulk-jobs.js';
import { issueCredential } from './issuance.js';
import { bulkJobOut, credentialOut, json, mobile, tenantId, withShortUrl } from './operation-schemas.js';

/** Issuing: one credential at a time, or in bulk from CSV. */
export function issuanceOperations(state: CredentialsState) {
  return {
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
  };
}
