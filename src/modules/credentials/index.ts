import { defineModule } from '../../kernel/index.js';
import { credentialsMigrations } from './migrations.js';
import { keysChanged } from './keys.js';
import { forgetStatusLists } from './revocation.js';
import { BULK_STALE_SECONDS } from './bulk-jobs.js';
import { resumeBulkJobs, runBulkJob } from './bulk-runner.js';
import { credentialsRoutes } from './routes.js';
import { attachRuntime, credentialsState, type CredentialsOptions } from './state.js';
import { issuerOperations } from './operations-issuers.js';
import { issuanceOperations } from './operations-issuance.js';
import { citizenOperations } from './operations-citizens.js';
import { credentialOperations } from './operations-credentials.js';
import { verificationOperations } from './operations-verification.js';

export { verifyCredential, type TrustList, type VerificationResult } from './verify.js';
export type { CredentialsOptions } from './state.js';
export { decodeCredentialFromQr, encodeCredentialForQr } from './qr.js';

/**
 * The credentials module with its own in-memory state (keys, status lists, types, reserved
 * status positions: see `state.ts`). Each call makes a new instance, so two runtimes in one
 * process share nothing; tests pass short cache lifetimes.
 */
export function credentialsModuleWith(options: CredentialsOptions = {}) {
  const state = credentialsState(options);
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
      // In this order in the OpenAPI document.
      ...issuerOperations(state),
      ...issuanceOperations(state),
      ...citizenOperations(state),
      ...credentialOperations(state),
      ...verificationOperations(state),
    },
  });
}

/** Verifiable credentials (see README.md): one instance, for the server's catalogue. */
export const credentialsModule = credentialsModuleWith();
