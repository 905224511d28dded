import type { Migration } from '../../kernel/index.js';

/**
 * Schema `workflow`. `processes` holds one row per record with everything the inbox filters and
 * sorts on (tenant, boundary path, state, assignee, due time), so the inbox is one indexed query;
 * `transitions` is the append-only history, which also feeds the SLA figures.
 */
export const workflowMigrations: Migration[] = [
  {
    name: '001_workflow',
    sql: `
create table definitions (
  id text primary key,
  tenant_id text not null,
  code text not null,
  version integer not null,
  name text not null,
  definition jsonb not null,
  created_by text not null,
  created_at timestamptz not null default now(),
  unique (tenant_id, code, version)
);

create table processes (
  id text primary key,
  tenant_id text not null,
  definition_id text not null references definitions(id),
  service text not null,
  business_id text not null,
  boundary text,
  -- The boundary and its ancestors, so a jurisdiction over a ward or a city matches.
  boundary_path text[] not null default '{}',
  state text not null,
  status text not null check (status in ('active', 'closed')),
  record jsonb not null,
  assignee text,
  claimed_by text,
  claimed_at timestamptz,
  state_entered_at timestamptz not null,
  due_at timestamptz,
  breached_at timestamptz,
  escalation_level integer not null default 0,
  escalated_role text,
  escalate_at timestamptz,
  process_due_at timestamptz,
  process_breached_at timestamptz,
  paused_at timestamptz,
  timer_at timestamptz,
  timer_action text,
  version integer not null default 1,
  created_by text not null,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  closed_at timestamptz,
  unique (tenant_id, service, business_id)
);
-- The inbox: active records of a tenant by due time (nulls last), keyset-paginated by (due_at, id).
create index processes_inbox on processes (tenant_id, due_at, id) where status = 'active';
create index processes_jurisdiction on processes using gin (boundary_path) where status = 'active';
create index processes_assignee on processes (assignee, due_at) where status = 'active';
-- Timers: each sweep reads only what is due.
create index processes_escalate on processes (escalate_at) where status = 'active' and escalate_at is not null;
create index processes_process_due on processes (process_due_at) where status = 'active' and process_breached_at is null and paused_at is null;
create index processes_timer on processes (timer_at) where status = 'active' and timer_at is not null;

create table transitions (
  id text primary key,
  process_id text not null references processes(id),
  tenant_id text not null,
  service text not null,
  seq integer not null,
  action text,
  from_state text,
  to_state text not null,
  actor_id text not null,
  comment text,
  attachments jsonb not null default '[]',
  assignee text,
  -- The stay in from_state that this transition ends, for SLA figures per state.
  state_entered_at timestamptz,
  state_due_at timestamptz,
  at timestamptz not null,
  unique (process_id, seq)
);
create index transitions_figures on transitions (tenant_id, service, at);

-- Round-robin assignment: the last employee given a record from each pool.
create table assignment_cursors (
  tenant_id text not null,
  pool text not null,
  last_assignee text not null,
  primary key (tenant_id, pool)
);
`,
  },
  {
    // The inbox's jurisdiction filter by a key that holds the tenant too ("in.ka.bengaluru/W01"):
    // one GIN lookup finds the records, where boundary codes alone made the planner intersect
    // with the tenant's whole index. Tenant codes hold no "/", so a key names one tenant.
    name: '002_inbox_scoped_boundaries',
    sql: `
create function scoped_boundaries(tenant text, path text[]) returns text[]
  language sql immutable parallel safe
  as $$ select array(select tenant || '/' || b from unnest(path) b) $$;
create index processes_scoped_jurisdiction on processes using gin (scoped_boundaries(tenant_id, boundary_path)) where status = 'active';
drop index processes_jurisdiction;
-- Covering what the inbox reads and filters on, so a tenant-wide inbox (a city's clerk) is an
-- index-only scan: a tenant's records are spread over the whole table, one per page or so.
drop index processes_inbox;
create index processes_inbox on processes (tenant_id, due_at, id)
  include (state, service, definition_id, assignee, claimed_by, escalated_role) where status = 'active';
`,
  },
  {
    // The same keys from PL/pgSQL, whose plan lives as long as the connection: as an SQL function
    // (not inlinable, for its subquery) the body went through the SQL-function executor and was
    // planned again on every statement that inserts into the index, i.e. every transition (each
    // rewrites the row): ~20 µs of the database's time per update. Same results for every input,
    // so the index built with the first body stays valid.
    name: '003_plpgsql_scoped_boundaries',
    sql: `
create or replace function scoped_boundaries(tenant text, path text[]) returns text[]
  language plpgsql immutable parallel safe
  as $$
declare
  keys text[] := '{}';
  boundary text;
begin
  if path is null then
    return keys;
  end if;
  foreach boundary in array path loop
    keys := keys || (tenant || '/' || boundary);
  end loop;
  return keys;
end
$$;
`,
  },
];
