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
];
