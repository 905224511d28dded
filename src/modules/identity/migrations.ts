import type { Migration } from '../../kernel/index.js';

/** Tables of schema `identity`; tenant codes are the tenant ids used across the platform. */
export const identityMigrations: Migration[] = [
  {
    name: '001_tenants_roles_users',
    sql: `
create table tenants (
  code text primary key,
  parent_code text references tenants(code),
  name text not null,
  status text not null default 'active' check (status in ('active', 'disabled')),
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index tenants_parent_code on tenants(parent_code);

create table roles (
  id text primary key,
  tenant_id text not null references tenants(code),
  code text not null,
  name text not null,
  permissions jsonb not null,
  created_at timestamptz not null default now(),
  unique (tenant_id, code)
);

create table users (
  id text primary key,
  kind text not null check (kind in ('employee', 'citizen')),
  tenant_id text not null references tenants(code),
  -- usernames are unique per tenant root (the first code segment)
  root_tenant text not null,
  username text not null,
  name text not null,
  mobile_enc text,
  mobile_bidx text,
  email_enc text,
  email_bidx text,
  password_hash text not null,
  status text not null default 'active' check (status in ('active', 'locked', 'disabled')),
  failed_logins integer not null default 0,
  locked_until timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (root_tenant, username)
);
create index users_mobile_bidx on users(mobile_bidx);
create index users_email_bidx on users(email_bidx);

create table user_roles (
  user_id text not null references users(id),
  role_id text not null references roles(id),
  tenant_id text not null references tenants(code),
  primary key (user_id, role_id, tenant_id)
);
`,
  },
  {
    name: '002_signing_keys_refresh_tokens',
    sql: `
create table signing_keys (
  kid text primary key,
  public_jwk jsonb not null,
  private_jwk_enc text not null,
  status text not null check (status in ('active', 'retired')),
  created_at timestamptz not null default now(),
  retired_at timestamptz
);

create table refresh_tokens (
  token_hash text primary key,
  family_id text not null,
  user_id text not null references users(id),
  scope text,
  status text not null check (status in ('active', 'used', 'revoked')),
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);
create index refresh_tokens_family on refresh_tokens(family_id);
`,
  },
  {
    name: '003_key_rotation',
    sql: `
-- Before the index: a race of two first sign-ins may have left two active keys; keep the newest.
update signing_keys set status = 'retired', retired_at = now()
where status = 'active' and kid <> (select kid from signing_keys where status = 'active' order by created_at desc, kid desc limit 1);
create unique index signing_keys_one_active on signing_keys (status) where status = 'active';
`,
  },
];
