import { defineModule } from '../../kernel/index.js';
import { limitOperations } from './limits.js';
import { filesMigrations } from './migrations.js';
import { fileOperations } from './operations.js';
import { retentionJobs } from './retention.js';
import { filesRoutes } from './routes.js';

export { FilesPermissions } from './permissions.js';
export { PURPOSES, type Purpose } from './purposes.js';

/** Document storage: uploads, checksums, content sniffing, limits, signed links, retention (see README.md). */
export const filesModule = defineModule({
  name: 'files',
  summary: 'Document storage on a local folder or S3-compatible object storage',
  dependsOn: ['identity'],
  migrations: filesMigrations,
  events: {
    publishes: ['files.file.uploaded', 'files.file.attached', 'files.file.deleted', 'files.file.expired'],
  },
  operations: { ...fileOperations, ...limitOperations },
  jobs: retentionJobs,
  routes: filesRoutes,
});
