import type { Migration } from '../db/migrations.js';

export const eventMigrations: Migration[] = [
  {
    name: '001_events',
    sql: `
      create table outbox (
        seq bigserial primary key,
        id text not null unique,
        name text not null,
        tenant_id text,
        payload jsonb not null,
        actor_id text,
        request_id text,
        occurred_at timestamptz not null default now(),
        published_at timestamptz
      );
      create index outbox_unpublished on outbox (seq) where published_at is null;
      create index outbox_published_at on outbox (published_at) where published_at is not null;

      create table processed_events (
        consumer text not null,
        event_id text not null,
        processed_at timestamptz not null default now(),
        primary key (consumer, event_id)
      );
      create index processed_events_at on processed_events (processed_at);

      create table event_retries (
        consumer text not null,
        event_id text not null,
        event jsonb not null,
        attempts int not null,
        next_attempt_at timestamptz not null,
        last_error text not null,
        primary key (consumer, event_id)
      );
      create index event_retries_due on event_retries (next_attempt_at);

      create table dead_letters (
        id text primary key,
        consumer text not null,
        event_id text not null,
        event jsonb not null,
        attempts int not null,
        last_error text not null,
        failed_at timestamptz not null default now(),
        resolved_at timestamptz,
        resolution text,
        unique (consumer, event_id)
      );
    `,
  },
  {
    // Which processes relay this database's outbox, and where to: two deployments sharing one
    // database with different event routes would each relay, and mark published, the other's events.
    name: '002_event_relays',
    sql: `
      create table event_relays (
        process_id text primary key,
        relay text not null,
        host text not null,
        seen_at timestamptz not null default now()
      );
    `,
  },
];
