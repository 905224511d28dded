import { defineModule } from '../../kernel/index.js';
import { authenticateAccessToken } from './access-tokens.js';
import { employeeOperations } from './employees.js';
import { sessionOperations } from './grants.js';
import { keyRotationJobs, keyRotationOperations } from './key-rotation.js';
import { identityMigrations } from './migrations.js';
import { oauthRoutes } from './oauth-routes.js';
import { roleOperations } from './roles.js';
import { seedDemo } from './seed.js';
import { tenantOperations } from './tenants.js';

/** Tenants, roles, employees, and the tokens that sign them in (see README.md). */
export const identityModule = defineModule({
  name: 'identity',
  summary: 'Tenants, roles, users and sign-in',
  migrations: identityMigrations,
  events: {
    publishes: ['identity.tenant.created', 'identity.tenant.updated', 'identity.user.created', 'identity.user.locked'],
  },
  operations: { ...tenantOperations, ...roleOperations, ...employeeOperations, ...sessionOperations, ...keyRotationOperations },
  jobs: { ...keyRotationJobs },
  routes: oauthRoutes,
  authenticate: authenticateAccessToken,
  seedDemo,
});
