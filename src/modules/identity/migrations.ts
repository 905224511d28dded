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
    // Citizens sign in with a one-time code: no username or password. Their blind indexes are
    // keyed by the tenant root (one account per person per root), employees' by their tenant.
    name: '002_otp_citizens',
    sql: `
alter table users alter column username drop not null;
alter table users alter column password_hash drop not null;
alter table users add constraint users_employee_credentials check (kind <> 'employee' or (username is not null and password_hash is not null));
alter table users add column locale text;
create unique index users_citizen_mobile on users(root_tenant, mobile_bidx) where kind = 'citizen' and mobile_bidx is not null;
create unique index users_citizen_email on users(root_tenant, email_bidx) where kind = 'citizen' and email_bidx is not null;

create table otp_codes (
  root_tenant text not null,
  identifier_bidx text not null,
  channel text not null check (channel in ('sms', 'email')),
  tenant_id text not null references tenants(code),
  code_hash text not null,
  salt text not null,
  status text not null check (status in ('active', 'used', 'burnt')),
  attempts integer not null default 0,
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  primary key (root_tenant, identifier_bidx)
);

create table dev_outbox (
  id text primary key,
  seq bigint generated always as identity unique,
  tenant_id text not null,
  channel text not null check (channel in ('sms', 'email')),
  recipient_enc text not null,
  recipient_masked text not null,
  body_enc text not null,
  created_at timestamptz not null default now()
);
`,
  },
  {
    name: '004_totp_clients_staff',
    sql: `
create table totp_factors (
  user_id text primary key references users(id),
  secret_enc text not null,
  status text not null check (status in ('pending', 'enabled')),
  -- the last time step whose code was accepted; a code of that step or before is refused
  last_step bigint,
  created_at timestamptz not null default now(),
  enabled_at timestamptz
);

create table recovery_codes (
  code_hash text primary key,
  user_id text not null references users(id),
  used_at timestamptz,
  created_at timestamptz not null default now()
);
create index recovery_codes_user on recovery_codes(user_id);

create table mfa_tokens (
  token_hash text primary key,
  user_id text not null references users(id),
  scope text,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now()
);

create table clients (
  id text primary key,
  tenant_id text not null references tenants(code),
  name text not null,
  secret_hash text not null,
  status text not null default 'active' check (status in ('active', 'disabled')),
  created_at timestamptz not null default now()
);

create table client_roles (
  client_id text not null references clients(id),
  role_id text not null references roles(id),
  primary key (client_id, role_id)
);

create table departments (
  id text primary key,
  tenant_id text not null references tenants(code),
  code text not null,
  name text not null,
  created_at timestamptz not null default now(),
  unique (tenant_id, code)
);

create table designations (
  id text primary key,
  tenant_id text not null references tenants(code),
  code text not null,
  name text not null,
  created_at timestamptz not null default now(),
  unique (tenant_id, code)
);

create table assignments (
  id text primary key,
  user_id text not null references users(id),
  tenant_id text not null references tenants(code),
  department_id text not null references departments(id),
  designation_id text not null references designations(id),
  jurisdiction jsonb not null,
  from_date date not null,
  to_date date,
  is_primary boolean not null default false,
  created_at timestamptz not null default now()
);
create index assignments_user on assignments(user_id);
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
  {
    name: '005_user_version',
    sql: `
-- Optimistic concurrency for employee updates (PATCH /employees/:id).
alter table users add column version integer not null default 1;
`,
  },
];
