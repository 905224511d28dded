import type { Migration } from '../db/migrations.js';

export const cryptoMigrations: Migration[] = [
  {
    name: '001_data_keys',
    sql: `
      create table data_keys (
        id text primary key,
        tenant_id text not null,
        wrapped_key text not null,
        status text not null check (status in ('active', 'retired')),
        created_at timestamptz not null default now(),
        retired_at timestamptz
      );
      create unique index data_keys_one_active on data_keys (tenant_id) where status = 'active';
    `,
  },
];
