import type { Migration } from '../../kernel/index.js';

/**
 * Tables of schema `registry`. A record's plain fields live in `records.data`, its PII fields
 * only as ciphertexts in `records.sealed`; everything searchable is copied to `record_index`,
 * one row per (record, field), where PII appears only as keyed digests (blind indexes).
 */
export const registryMigrations: Migration[] = [
  {
    name: '001_registries_records_index',
    sql: `
-- Database-wide extensions live in public so every schema (and search_path) finds them.
create extension if not exists pg_trgm with schema public;
create extension if not exists fuzzystrmatch with schema public;

create table registries (
  id text primary key,
  -- the integer id GovStack's database API addresses registries by
  number bigserial not null unique,
  tenant_id text not null,
  code text not null,
  name text not null,
  description text,
  version integer not null default 1,
  definition jsonb not null,
  status text not null default 'active' check (status in ('active', 'disabled')),
  created_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, code)
);

create table registry_versions (
  registry_id text not null references registries(id),
  version integer not null,
  definition jsonb not null,
  changed_by text not null,
  changed_at timestamptz not null default now(),
  primary key (registry_id, version)
);

create table records (
  id text primary key,
  tenant_id text not null,
  registry_id text not null references registries(id),
  version integer not null default 1,
  data jsonb not null,
  sealed jsonb not null default '{}',
  -- blind index of the owner field: a citizen finds their own records without decrypting others
  owner_bidx text,
  status text not null default 'active' check (status in ('active', 'deleted', 'duplicate', 'merged')),
  duplicate_of text references records(id),
  review text check (review in ('pending', 'cleared')),
  created_by text not null,
  created_at timestamptz not null default now(),
  updated_by text not null,
  updated_at timestamptz not null default now()
);
create index records_registry_created on records (registry_id, tenant_id, created_at, id);
create index records_owner on records (registry_id, owner_bidx) where owner_bidx is not null;

-- Every version of every record, as it was written (PII still sealed), with who, when and why.
create table record_versions (
  record_id text not null references records(id),
  version integer not null,
  tenant_id text not null,
  change text not null check (change in ('created', 'updated', 'deleted', 'restored', 'merged', 'duplicate')),
  data jsonb not null,
  sealed jsonb not null,
  status text not null,
  changed_by text not null,
  changed_at timestamptz not null default now(),
  reason text,
  primary key (record_id, version)
);

-- Searchable and unique fields of active records. value_text: the normalised plain value (null
-- for PII); value_bidx: the blind index (PII) ; phonetic: double metaphone codes per word,
-- keyed by HMAC for PII fields flagged fuzzy; value_date / value_num for ranges.
-- No foreign key to records: the rows are derived and rewritten by the module in the same
-- transaction as their record, and a per-row key check doubled the cost of a bulk import.
create table record_index (
  record_id text not null,
  registry_id text not null,
  tenant_id text not null,
  field text not null,
  value_text text,
  value_bidx text,
  phonetic text,
  value_date date,
  value_num numeric,
  unique_key text,
  primary key (record_id, field)
);
-- Text fields only: dates and numbers are matched by range or edit distance, not by trigrams.
create index record_index_trgm on record_index using gin (value_text gin_trgm_ops) where value_text is not null and value_date is null and value_num is null;
create index record_index_text on record_index (registry_id, field, value_text text_pattern_ops) where value_text is not null;
create index record_index_bidx on record_index (registry_id, field, value_bidx) where value_bidx is not null;
create index record_index_phonetic on record_index (registry_id, field, phonetic) where phonetic is not null;
create index record_index_date on record_index (registry_id, field, value_date) where value_date is not null;
create index record_index_num on record_index (registry_id, field, value_num) where value_num is not null;
create unique index record_index_unique on record_index (registry_id, field, unique_key) where unique_key is not null;

create table duplicate_candidates (
  record_id text not null references records(id),
  candidate_id text not null references records(id),
  tenant_id text not null,
  score real not null,
  reasons jsonb not null,
  found_at timestamptz not null default now(),
  decision text check (decision in ('not_duplicate', 'duplicate', 'merge')),
  decided_by text,
  decided_at timestamptz,
  reason text,
  primary key (record_id, candidate_id)
);
-- Who read whose PII in plain text, and why (also in the audit log): serves GovStack's
-- "my personal data usage", which a citizen may ask about their own records.
create table pii_reads (
  id bigserial primary key,
  tenant_id text not null,
  record_id text not null references records(id),
  owner_bidx text,
  reader_id text not null,
  reader_tenant text,
  client text,
  fields jsonb not null,
  reason text not null,
  read_at timestamptz not null default now()
);
create index pii_reads_owner on pii_reads (owner_bidx, read_at) where owner_bidx is not null;

create index duplicate_candidates_pending on duplicate_candidates (tenant_id, found_at) where decision is null;
`,
  },
];
