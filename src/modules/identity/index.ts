import { defineModule } from '../../kernel/index.js';
import { authenticateAccessToken } from './access-tokens.js';
import { clientOperations } from './clients.js';
import { employeeOperations } from './employees.js';
import { sessionOperations } from './grants.js';
import { identityMigrations } from './migrations.js';
import { oauthRoutes } from './oauth-routes.js';
import { roleOperations } from './roles.js';
import { secondFactorOperations } from './second-factor.js';
import { seedDemo } from './seed.js';
import { staffOperations } from './staff.js';
import { tenantOperations } from './tenants.js';

/** Tenants, roles, employees, and the tokens that sign them in (see README.md). */
export const identityModule = defineModule({
  name: 'identity',
  summary: 'Tenants, roles, users and sign-in',
  migrations: identityMigrations,
  events: {
    publishes: ['identity.tenant.created', 'identity.tenant.updated', 'identity.user.created', 'identity.user.locked', 'identity.employee.assigned', 'identity.user.roles.changed'],
  },
  operations: { ...tenantOperations, ...roleOperations, ...employeeOperations, ...sessionOperations, ...secondFactorOperations, ...clientOperations, ...staffOperations },
  routes: oauthRoutes,
  authenticate: authenticateAccessToken,
  seedDemo,
});
