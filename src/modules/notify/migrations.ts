import type { Migration } from '../../kernel/index.js';

/** Tables of schema `notify`. Recipients, subjects and bodies are sealed (ctx.crypto), never plain. */
export const notifyMigrations: Migration[] = [
  {
    name: '001_notify',
    sql: `
create table templates (
  id text primary key,
  tenant_id text not null,
  code text not null,
  channel text not null check (channel in ('email', 'sms', 'inapp')),
  locale text not null,
  subject text,
  body text not null,
  html text,
  category text not null,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, code, channel, locale)
);

create table subscriptions (
  id text primary key,
  tenant_id text not null,
  event text not null,
  template text not null,
  audience jsonb not null,
  channels jsonb not null,
  category text not null,
  mandatory boolean not null default false,
  status text not null default 'active' check (status in ('active', 'disabled')),
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index subscriptions_event on subscriptions (event);

-- category '*' covers every category of the channel
create table preferences (
  user_id text not null,
  tenant_id text not null,
  channel text not null check (channel in ('email', 'sms', 'inapp')),
  category text not null,
  opted_out boolean not null,
  updated_at timestamptz not null default now(),
  primary key (user_id, channel, category)
);

create table messages (
  seq bigserial unique,
  id text primary key,
  tenant_id text not null,
  channel text not null check (channel in ('email', 'sms', 'inapp')),
  provider text not null,
  status text not null check (status in ('queued', 'sent', 'delivered', 'failed', 'suppressed')),
  category text not null,
  mandatory boolean not null default false,
  template text,
  locale text,
  user_id text,
  recipient_enc text not null,
  recipient_masked text not null,
  subject_enc text,
  body_enc text not null,
  html_enc text,
  encoding text,
  segments integer,
  -- event id + subscription + recipient + channel for event-driven messages; the id otherwise
  dedupe_key text not null unique,
  event_id text,
  subscription_id text,
  batch_id text,
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  lease_until timestamptz,
  provider_message_id text,
  last_error text,
  read_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  sent_at timestamptz,
  delivered_at timestamptz,
  failed_at timestamptz
);
create index messages_due on messages (channel, next_attempt_at) where status = 'queued';
create index messages_inbox on messages (user_id, seq) where channel = 'inapp';
create index messages_tenant on messages (tenant_id, seq);
create index messages_batch on messages (batch_id) where batch_id is not null;
create index messages_provider_id on messages (provider, provider_message_id);

-- token buckets per provider, shared by every process
create table rate_buckets (
  provider text primary key,
  tokens double precision not null,
  refilled_at timestamptz not null
);

-- whether a delivery job for the channel is already waiting (keeps one job per burst of sends)
create table kicks (
  channel text primary key,
  pending boolean not null default false
);
insert into kicks (channel) values ('email'), ('sms');

-- delivery receipts already applied, by their signature: a replayed receipt is refused
create table receipts (
  signature text primary key,
  provider_message_id text not null,
  received_at timestamptz not null default now()
);

create table govstack_callbacks (
  id text primary key,
  tenant_id text not null,
  request_uid text not null,
  meta text,
  content_enc text,
  created_at timestamptz not null default now()
);
`,
  },
];
