import type { Migration } from '../../kernel/index.js';

/** Tables of schema `files`. */
export const filesMigrations: Migration[] = [
  {
    name: '001_files_limits',
    sql: `
create table files (
  id text primary key,
  tenant_id text not null,
  owner_id text not null,
  purpose text not null,
  name text not null,
  content_type text not null,
  size_bytes bigint not null,
  sha256 text not null,
  -- which store holds the bytes and under what key, so a change of SEVA_FILES_STORE is detectable
  store text not null,
  storage_key text not null,
  thumbnail_key text,
  thumbnail_sha256 text,
  thumbnail_size bigint,
  record_type text,
  record_id text,
  attached_at timestamptz,
  status text not null default 'active' check (status in ('active', 'deleted', 'expired')),
  deleted_at timestamptz,
  deleted_by text,
  bytes_removed_at timestamptz,
  created_at timestamptz not null default now(),
  check ((record_type is null) = (record_id is null))
);
create index files_owner on files(tenant_id, owner_id, created_at);
create index files_record on files(tenant_id, record_type, record_id) where record_id is not null;
-- what the retention job scans: unattached live files, and deleted files whose bytes remain
create index files_orphans on files(created_at) where status = 'active' and record_id is null;
create index files_deleted_bytes on files(deleted_at) where status = 'deleted' and bytes_removed_at is null;

create table tenant_limits (
  tenant_id text primary key,
  max_bytes bigint not null check (max_bytes > 0),
  updated_by text not null,
  updated_at timestamptz not null default now()
);
`,
  },
];
