import { defineModule } from '../../kernel/index.js';
import { authenticateAccessToken } from './access-tokens.js';
import { clientOperations } from './clients.js';
import { employeeOperations } from './employees.js';
import { employeeChangeOperations } from './employee-changes.js';
import { sessionOperations } from './grants.js';
import { keyRotationJobs, keyRotationOperations } from './key-rotation.js';
import { identityMigrations } from './migrations.js';
import { oauthRoutes } from './oauth-routes.js';
import { roleOperations } from './roles.js';
import { secondFactorOperations } from './second-factor.js';
import { seedDemo } from './seed.js';
import { bootstrap } from './bootstrap.js';
import { staffOperations } from './staff.js';
import { tenantOperations } from './tenants.js';
import { citizenOperations } from './citizens.js';
import { devOutboxOperations } from './dev-outbox.js';
import { contactOperations } from './contacts.js';
import { eligibleEmployeeOperations } from './eligible-employees.js';
import type { IdentityOptions } from './rate-limits.js';

/** Tenants, roles, employees, and the tokens that sign them in (see README.md). */
export const identityModule = defineModule({
  name: 'identity',
  summary: 'Tenants, roles, users and sign-in',
  migrations: identityMigrations,
  events: {
    publishes: ['identity.tenant.created', 'identity.tenant.updated', 'identity.user.created', 'identity.user.updated', 'identity.user.locked', 'identity.employee.assigned', 'identity.user.roles.changed', 'identity.otp.requested'],
  },
  operations: {
    ...tenantOperations,
    ...roleOperations,
    ...employeeOperations,
    ...employeeChangeOperations,
    ...sessionOperations,
    ...secondFactorOperations,
    ...clientOperations,
    ...staffOperations,
    ...eligibleEmployeeOperations,
    ...citizenOperations,
    ...devOutboxOperations,
    ...contactOperations,
    ...keyRotationOperations,
  },
  jobs: { ...keyRotationJobs },
  routes: oauthRoutes,
  authenticate: authenticateAccessToken,
  seedDemo,
  bootstrap,
});

/** The identity module with a given clock and rate limits (tests move time instead of waiting). */
export function identityModuleWith(options: IdentityOptions) {
  return defineModule({ ...identityModule, routes: (app, runtime) => oauthRoutes(app, runtime, options) });
}
