import type { Migration } from '../../kernel/index.js';

/**
 * Schema `billing`. Amounts are `bigint` minor units. A demand is what is owed for one consumer
 * code and period, line by tax head; a bill is a snapshot of what to pay now (with the penalty or
 * rebate of that moment) that expires; a payment is apportioned over demand lines by allocation
 * rows, and refunds and cancellations add reversing (negative) allocations, never edits.
 */
export const billingMigrations: Migration[] = [
  {
    name: '001_billing',
    sql: `
create table tax_heads (
  id text primary key,
  tenant_id text not null,
  service text not null,
  code text not null,
  name text not null,
  category text not null check (category in ('fee', 'tax', 'penalty', 'interest', 'rebate')),
  gl_code text not null,
  created_by text not null,
  created_at timestamptz not null,
  unique (tenant_id, service, code)
);

create table fee_rules (
  id text primary key,
  tenant_id text not null,
  service text not null,
  version integer not null,
  rule jsonb not null,
  created_by text not null,
  created_at timestamptz not null,
  unique (tenant_id, service, version)
);

create table demands (
  id text primary key,
  tenant_id text not null,
  service text not null,
  consumer_code text not null,
  payer_id text,
  -- Calendar dates as YYYY-MM-DD text: no driver turns them into local-time instants.
  period_from text not null check (period_from ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  period_to text not null check (period_to ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  due_at timestamptz not null,
  currency text not null,
  fee_rule_id text references fee_rules(id),
  allow_partial boolean not null default false,
  minimum_amount bigint not null default 0,
  -- What penalties and rebates are a share of: the fee lines as first demanded.
  base_amount bigint not null,
  -- Penalty levied so far (waivers do not lower it, so a waived penalty is not levied again).
  penalty_levied bigint not null default 0,
  total_amount bigint not null,
  collected_amount bigint not null default 0,
  status text not null check (status in ('active', 'paid', 'cancelled')),
  version integer not null default 1,
  created_by text not null,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  unique (tenant_id, service, consumer_code, period_from)
);
create index demands_active on demands (tenant_id, id) where status = 'active';

create table demand_lines (
  id text primary key,
  demand_id text not null references demands(id),
  tenant_id text not null,
  seq integer not null,
  tax_head text not null,
  category text not null,
  source text not null check (source in ('fee', 'penalty', 'rebate')),
  amount bigint not null,
  collected bigint not null default 0,
  bill_id text,
  unique (demand_id, seq)
);

create table adjustments (
  id text primary key,
  demand_id text not null references demands(id),
  tenant_id text not null,
  line_id text not null references demand_lines(id),
  kind text not null check (kind in ('adjustment', 'waiver')),
  delta bigint not null,
  reason text not null,
  actor_id text not null,
  at timestamptz not null
);
create index adjustments_demand on adjustments (demand_id);

create table bills (
  id text primary key,
  tenant_id text not null,
  demand_id text not null references demands(id),
  service text not null,
  consumer_code text not null,
  status text not null check (status in ('active', 'expired', 'paid', 'cancelled')),
  currency text not null,
  total bigint not null,
  minimum_payable bigint not null,
  lines jsonb not null,
  generated_at timestamptz not null,
  expires_at timestamptz not null,
  closed_at timestamptz
);
-- At most one bill to pay per demand at a time.
create unique index bills_one_active on bills (demand_id) where status = 'active';

create table gateway_orders (
  id text primary key,
  tenant_id text not null,
  bill_id text not null references bills(id),
  demand_id text not null references demands(id),
  amount bigint not null,
  currency text not null,
  status text not null check (status in ('created', 'paid', 'failed', 'expired')),
  gateway text not null,
  gateway_ref text,
  redirect_url text,
  return_url text,
  payment_id text,
  failure text,
  settled_via text,
  created_by text not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index gateway_orders_open on gateway_orders (created_at) where status = 'created';

-- Webhook events already applied: a repeated delivery is acknowledged and changes nothing.
create table webhook_events (
  event_id text primary key,
  order_id text not null,
  received_at timestamptz not null
);

create table payments (
  id text primary key,
  tenant_id text not null,
  demand_id text not null references demands(id),
  bill_id text not null references bills(id),
  service text not null,
  consumer_code text not null,
  mode text not null check (mode in ('online', 'cash', 'cheque', 'card', 'dd')),
  instrument jsonb not null default '{}',
  amount bigint not null,
  currency text not null,
  -- The part beyond what was due (a second payment of a settled demand), kept for refund.
  unallocated bigint not null default 0,
  refunded bigint not null default 0,
  status text not null check (status in ('completed', 'cancelled')),
  receipt_no text not null,
  idempotency_key text not null,
  order_id text references gateway_orders(id),
  payer_id text,
  collected_by text not null,
  counter_day text check (counter_day ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  created_at timestamptz not null,
  cancelled_at timestamptz,
  cancel_reason text,
  unique (tenant_id, idempotency_key),
  unique (tenant_id, receipt_no)
);
create index payments_demand on payments (demand_id);
create index payments_counter on payments (tenant_id, collected_by, counter_day) where counter_day is not null;

create table allocations (
  id text primary key,
  tenant_id text not null,
  payment_id text not null references payments(id),
  line_id text not null references demand_lines(id),
  kind text not null check (kind in ('payment', 'refund', 'cancellation')),
  amount bigint not null,
  ref text,
  at timestamptz not null
);
create index allocations_payment on allocations (payment_id);

create table refunds (
  id text primary key,
  tenant_id text not null,
  payment_id text not null references payments(id),
  amount bigint not null,
  reason text not null,
  gateway_ref text,
  created_by text not null,
  created_at timestamptz not null
);
create index refunds_payment on refunds (payment_id);

create table day_closes (
  id text primary key,
  tenant_id text not null,
  cashier_id text not null,
  day text not null check (day ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  totals jsonb not null,
  payments integer not null,
  closed_at timestamptz not null,
  unique (tenant_id, cashier_id, day)
);
`,
  },
  {
    // The payment an idempotency key names is looked up by (tenant_id, idempotency_key) on every
    // payment. With both unique keys led by tenant_id, a plan made while the table was empty (a
    // connection's cached generic plan, kept until the table is next analyzed) could take the
    // receipt number's index on tenant_id alone and filter every payment of the tenant. Led by
    // the receipt number, that index is of no use to a lookup that lacks one.
    name: '002_receipt_key_leads_with_number',
    sql: `
alter table payments drop constraint payments_tenant_id_receipt_no_key;
alter table payments add constraint payments_receipt_no_tenant_id_key unique (receipt_no, tenant_id);
`,
  },
  {
    // A consumer's payments (GET /payments) had no index of their own: the lookup took a unique
    // key on tenant_id alone and filtered every payment of the tenant. Led by the consumer code,
    // so that no lookup led by tenant_id alone takes it either.
    name: '003_payments_by_consumer',
    sql: `
create index payments_consumer on payments (consumer_code, service, tenant_id, created_at);
`,
  },
];
