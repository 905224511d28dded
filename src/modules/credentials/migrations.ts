import type { Migration } from '../../kernel/index.js';

/** Tables of schema `credentials`. */
export const credentialsMigrations: Migration[] = [
  {
    name: '001_keys_types_credentials',
    sql: `
create table signing_keys (
  kid text primary key,
  tenant_id text not null,
  public_multibase text not null,
  private_key_enc text not null,
  status text not null check (status in ('active', 'rotated', 'retired')),
  created_at timestamptz not null default now(),
  rotated_at timestamptz,
  retired_at timestamptz
);
create unique index signing_keys_one_active on signing_keys(tenant_id) where status = 'active';

create table credential_types (
  tenant_id text not null,
  code text not null,
  name text not null,
  vc_type text not null,
  claims_schema jsonb not null,
  validity_days integer,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  primary key (tenant_id, code)
);

-- How many credentials a tenant has had (its next status position), and the random seed of its
-- status-position permutation (status-index.ts).
create table status_allocations (
  tenant_id text primary key,
  next_index integer not null,
  seed text not null
);

create table credentials (
  id text primary key,
  tenant_id text not null,
  type_code text not null,
  source_ref text not null,
  claims_hash text not null,
  status text not null check (status in ('active', 'suspended', 'revoked')),
  status_index integer not null,
  kid text not null references signing_keys(kid),
  document jsonb not null,
  valid_until timestamptz,
  issued_at timestamptz not null default now(),
  status_reason text,
  status_changed_at timestamptz,
  -- Corrections: the credential this one corrects, and the one that corrected this one.
  replaces text references credentials(id),
  replaced_by text,
  unique (tenant_id, status_index)
);
-- One current credential per source; corrected ones step aside.
create unique index credentials_current_by_source on credentials(tenant_id, type_code, source_ref) where replaced_by is null;
create index credentials_status on credentials(tenant_id, status) where status <> 'active';
`,
  },
  {
    name: '002_bulk_citizens_display',
    sql: `
-- Per type: the proof's cryptosuite and display templates per locale (PDF certificates).
alter table credential_types add column cryptosuite text not null default 'eddsa-jcs-2022' check (cryptosuite in ('eddsa-jcs-2022', 'eddsa-rdfc-2022'));
alter table credential_types add column display jsonb not null default '{}';

-- The subject's mobile as a blind index (HMAC keyed per tenant root), never the number; the short
-- code of the public lookup URL; the bulk job that issued it.
alter table credentials add column subject_mobile_bidx text;
alter table credentials add column short_code text;
alter table credentials add column bulk_job_id text;
create unique index credentials_short_code on credentials(short_code) where short_code is not null;
create index credentials_subject_mobile on credentials(subject_mobile_bidx) where subject_mobile_bidx is not null;

-- Bulk issuance from CSV: a job with its counts, and its validated rows, each issued once.
create table bulk_jobs (
  id text primary key,
  tenant_id text not null,
  type_code text not null,
  status text not null check (status in ('queued', 'running', 'completed', 'failed')),
  batch_size integer not null,
  total_rows integer not null,
  valid_rows integer not null,
  invalid_rows integer not null,
  processed integer not null default 0,
  issued integer not null default 0,
  existing integer not null default 0,
  failed integer not null default 0,
  -- Rows refused at validation: [{ row, sourceRef, errors: [{ path, message }] }] (capped).
  errors jsonb not null default '[]',
  created_by text not null,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  heartbeat_at timestamptz,
  finished_at timestamptz,
  -- Seconds spent issuing (sum over batches), for the throughput figure.
  busy_ms bigint not null default 0
);
create index bulk_jobs_unfinished on bulk_jobs(status) where status in ('queued', 'running');

create table bulk_rows (
  job_id text not null references bulk_jobs(id),
  row_no integer not null,
  source_ref text not null,
  subject_id text,
  mobile_bidx text,
  claims jsonb not null,
  -- As given (ISO 8601): the source's idempotency hash covers the text.
  valid_from text,
  valid_until text,
  status text not null check (status in ('pending', 'issued', 'existing', 'failed')),
  credential_id text,
  error jsonb,
  primary key (job_id, row_no)
);
create index bulk_rows_pending on bulk_rows(job_id, row_no) where status = 'pending';
`,
  },
];
