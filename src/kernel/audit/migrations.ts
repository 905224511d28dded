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
  {
    // Entries are written unsealed (no n, no hashes) and linked into the chain after commit by
    // one sealer at a time, so audited writes no longer queue on one lock until they commit.
    name: '002_audit_sealed_after_commit',
    sql: `
      create sequence audit_log_seq;
      alter table audit_log add column seq bigint;
      alter table audit_log disable trigger audit_log_append_only;
      update audit_log set seq = n;
      alter table audit_log enable trigger audit_log_append_only;
      select setval('audit_log_seq', coalesce((select max(seq) from audit_log), 0) + 1, false);
      alter sequence audit_log_seq owned by audit_log.seq;
      alter table audit_log drop constraint audit_log_pkey;
      alter table audit_log
        alter column seq set default nextval('audit_log_seq'),
        alter column seq set not null,
        alter column n drop not null,
        alter column prev_hash drop not null,
        alter column hash drop not null;
      alter table audit_log add primary key (seq);
      create unique index audit_log_n on audit_log (n);
      create index audit_log_unsealed on audit_log (seq) where hash is null;

      -- Sealing fills n and the hashes of an unsealed entry, once; nothing else may change.
      create function audit_seal_only() returns trigger language plpgsql as $$
      begin
        if old.hash is null and new.hash is not null and new.n is not null and new.prev_hash is not null
          and (new.seq, new.id, new.at, new.tenant_id, new.actor_id, new.action, new.entity_type, new.entity_id, new.request_id, new.data)
            is not distinct from (old.seq, old.id, old.at, old.tenant_id, old.actor_id, old.action, old.entity_type, old.entity_id, old.request_id, old.data)
        then
          return new;
        end if;
        raise exception '% is append-only: % refused', tg_table_name, tg_op;
      end;
      $$;
      drop trigger audit_log_append_only on audit_log;
      create trigger audit_log_no_delete before delete on audit_log
        for each row execute function audit_refuse_change();
      create trigger audit_log_seal_only before update on audit_log
        for each row execute function audit_seal_only();
    `,
  },
];
