import type { Migration } from '../../kernel/index.js';

/**
 * Tables of schema `reference`. `tenant_id` is a dotted tenant code; lookups walk it upwards
 * (`in.ka.bengaluru` → `in.ka` → `in`), so every key starts with what the walk filters on.
 */
export const referenceMigrations: Migration[] = [
  {
    name: '001_masterdata',
    sql: `
create table schemas (
  tenant_id text not null,
  code text not null,
  description text not null default '',
  definition jsonb not null,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (code, tenant_id)
);

create table records (
  id text primary key,
  tenant_id text not null,
  schema_code text not null,
  key text not null,
  data jsonb not null,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (schema_code, tenant_id, key)
);
`,
  },
  {
    name: '002_localization',
    sql: `
create table messages (
  tenant_id text not null,
  locale text not null,
  module text not null,
  code text not null,
  message text not null,
  updated_at timestamptz not null default now(),
  primary key (tenant_id, locale, module, code)
);
`,
  },
  {
    name: '003_boundaries',
    sql: `
create table hierarchies (
  tenant_id text not null,
  code text not null,
  name text not null,
  levels jsonb not null,
  created_at timestamptz not null default now(),
  primary key (code, tenant_id)
);

create table boundaries (
  id text primary key,
  tenant_id text not null,
  hierarchy text not null,
  code text not null,
  level text not null,
  depth integer not null,
  parent_code text,
  names jsonb not null,
  geometry jsonb,
  -- the geometry's bounding box: a cheap prefilter before the exact point-in-polygon test
  min_lon double precision,
  min_lat double precision,
  max_lon double precision,
  max_lat double precision,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (hierarchy, tenant_id, code)
);
create index boundaries_parent on boundaries (hierarchy, parent_code);
create index boundaries_bbox on boundaries (hierarchy, min_lon, max_lon) where min_lon is not null;
`,
  },
  {
    name: '004_id_formats',
    sql: `
create table id_formats (
  tenant_id text not null,
  code text not null,
  template text not null,
  fy_start_month integer not null default 4 check (fy_start_month between 1 and 12),
  -- the zone whose midnight turns the date (and the financial year) of the ID
  time_zone text not null default 'UTC',
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (code, tenant_id)
);

-- One row per tenant, format and period (the rendered date parts of the template). next_value
-- only grows, in one atomic upsert per allocation, so a number is never handed out twice.
create table id_sequences (
  tenant_id text not null,
  format text not null,
  period text not null,
  next_value bigint not null,
  primary key (tenant_id, format, period)
);
`,
  },
  {
    // A boundary is looked up by (hierarchy, code) on every ancestor of a path. With a second
    // index led by hierarchy, a generic plan made on a small table took it on hierarchy alone and
    // filtered every boundary of the hierarchy, once per ancestor. Led by the parent code, the
    // children's index serves only lookups that name a parent.
    name: '005_boundary_children_by_parent',
    sql: `
drop index boundaries_parent;
create index boundaries_children on boundaries (parent_code, hierarchy);
`,
  },
];
