import { auditMigrations } from './audit/migrations.js';
import { cryptoMigrations } from './crypto/migrations.js';
import { dbMigrations } from './db/db-migrations.js';
import type { MigrationSet } from './db/migrations.js';
import { eventMigrations } from './events/migrations.js';
import { idempotencyMigrations } from './http/idempotency.js';

/** The kernel's own tables live in schema `kernel`; names are prefixed per part to stay ordered. */
export const kernelMigrations: MigrationSet = {
  owner: 'kernel',
  migrations: [
    ...eventMigrations.map((m) => ({ ...m, name: `events_${m.name}` })),
    ...auditMigrations.map((m) => ({ ...m, name: `audit_${m.name}` })),
    ...cryptoMigrations.map((m) => ({ ...m, name: `crypto_${m.name}` })),
    ...dbMigrations.map((m) => ({ ...m, name: `db_${m.name}` })),
    ...idempotencyMigrations.map((m) => ({ ...m, name: `http_${m.name}` })),
  ],
};
