import type { Migration } from '../db/migrations.js';

export const auditMigrations: Migration[] = [
  {
    name: '001_audit_log',
    sql: `
      create table audit_log (
        n bigint primary key,
        id text not null unique,
        at timestamptz not null,
        tenant_id text,
        actor_id text not null,
        action text not null,
        entity_type text not null,
        entity_id text not null,
        request_id text,
        data jsonb not null,
        prev_hash text not null,
        hash text not null
      );
      create index audit_log_entity on audit_log (entity_type, entity_id);
      create index audit_log_tenant_at on audit_log (tenant_id, at);

      -- The last entry, so that deleting the tail of the log is detectable.
      create table audit_head (
        id int primary key check (id = 1),
        n bigint not null,
        hash text not null
      );
      insert into audit_head (id, n, hash) values (1, 0, repeat('0', 64));

      create function audit_refuse_change() returns trigger language plpgsql as $$
      begin
        raise exception '% is append-only: % refused', tg_table_name, tg_op;
      end;
      $$;
      create trigger audit_log_append_only before update or delete on audit_log
        for each row execute function audit_refuse_change();
      create trigger audit_log_no_truncate before truncate on audit_log
        for each statement execute function audit_refuse_change();
      create trigger audit_head_keep before delete on audit_head
        for each row execute function audit_refuse_change();
      create trigger audit_head_no_truncate before truncate on audit_head
        for each statement execute function audit_refuse_change();
    `,
  },
];
