import { defineModule } from '../../kernel/index.js';
import { bulkOperations } from './bulk.js';
import { dataUsageOperations } from './data-usage.js';
import { dedupOperations } from './dedup.js';
import { govstackRoutes } from './govstack-routes.js';
import { registryMigrations } from './migrations.js';
import { recordOperations } from './records.js';
import { registryOperations } from './registries.js';
import { searchOperations } from './search.js';
import { seedRegistryDemo } from './seed.js';

/** Schema-driven registries: sealed PII, versioned records, fuzzy search, de-duplication, GovStack API (see README.md). */
export const registryModule = defineModule({
  name: 'registry',
  summary: 'Registries of people, facilities, businesses…: records, search, de-duplication',
  dependsOn: ['identity', 'reference'],
  migrations: registryMigrations,
  events: {
    publishes: [
      'registry.registry.changed',
      'registry.record.created',
      'registry.record.updated',
      'registry.record.deleted',
      'registry.record.restored',
      'registry.records.imported',
      'registry.dedup.decided',
    ],
  },
  operations: {
    ...registryOperations,
    ...recordOperations,
    ...searchOperations,
    ...dedupOperations,
    ...bulkOperations,
    ...dataUsageOperations,
  },
  routes: govstackRoutes,
  seedDemo: (ctx) => seedRegistryDemo(ctx),
});
