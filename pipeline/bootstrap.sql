-- Ingestion ledger: one row per delivered file, and every row that did not parse, with its reason.
create table if not exists raw._batches (
    batch_id        bigint generated always as identity primary key,
    feed            text        not null,
    source_file     text        not null,
    export_date     date,
    checksum        text        not null,
    size_bytes      bigint      not null,
    status          text        not null,
    rows_read       integer     not null default 0,
    rows_loaded     integer     not null default 0,
    rows_rejected   integer     not null default 0,
    rows_skipped    integer     not null default 0,
    message         text,
    duplicate_of    bigint references raw._batches (batch_id),
    archive_path    text,
    loaded_at       timestamptz not null default now(),
    unique (feed, source_file, checksum)
);

create table if not exists raw._rejects (
    batch_id     bigint  not null references raw._batches (batch_id),
    feed         text    not null,
    source_file  text    not null,
    row_number   integer not null,
    reason       text    not null,
    cells        jsonb   not null,
    primary key (batch_id, row_number)
);
-- A row held for a staff code no roster lists (ingestion/staff_hold.py): the code, and the batch that loaded it
-- once a roster listed it.
alter table raw._rejects add column if not exists held_staff_code text;
alter table raw._rejects add column if not exists released_batch_id bigint references raw._batches (batch_id);

create table if not exists ops.pipeline_runs (
    run_id       text primary key,
    as_of        date        not null,
    started_at   timestamptz not null default now(),
    finished_at  timestamptz,
    status       text        not null default 'running',
    summary      jsonb
);

-- Every change to the ledger takes the next number of one sequence: a new batch, and a status change of an
-- existing one (held by a gate, released or held by hand). Incremental models compare it with the number they
-- last built up to (macros/incremental.sql), so a released batch is picked up like a new one.
create sequence if not exists raw._batch_changes;
alter table raw._batches add column if not exists change_seq bigint not null default nextval('raw._batch_changes');
create or replace function raw.next_batch_change() returns trigger language plpgsql as $$
begin
    new.change_seq := nextval('raw._batch_changes');
    return new;
end
$$;
create or replace trigger _batches_status_changed before update of status on raw._batches
    for each row when (old.status is distinct from new.status) execute function raw.next_batch_change();

-- Incremental models remember the ledger change they have built up to, and the as-of date of that build.
create table if not exists ops.dbt_watermarks (
    model        text primary key,
    batch_id     bigint      not null,
    recorded_at  timestamptz not null default now()
);
alter table ops.dbt_watermarks add column if not exists change_seq bigint not null default 0;
alter table ops.dbt_watermarks add column if not exists as_of date;
-- The change number before the model's latest build: the daily build's tests read the rows above it.
alter table ops.dbt_watermarks add column if not exists previous_change_seq bigint;
-- A batch held by hand after it was built is taken out of the marts by the next build rebuilding in full.
create table if not exists ops.full_rebuild_requests (
    requested_at timestamptz not null default now(),
    reason       text        not null
);

-- The dbt project's code (pipeline/dbt_state.py) as of the last complete build: a changed project is rebuilt in full.
create table if not exists ops.dbt_project_state (
    id           integer primary key default 1 check (id = 1),
    fingerprint  text        not null,
    built_at     timestamptz not null default now()
);

-- The raw gate's ledger state: a loaded batch waits for the raw checkpoint until validated_at is set, whichever
-- command loaded it (a run, `pipeline ingest`, a crashed run). Batches loaded before this column existed had
-- passed the gate of their own run.
do $$
begin
    if not exists (select 1 from information_schema.columns
                   where table_schema = 'raw' and table_name = '_batches' and column_name = 'validated_at') then
        alter table raw._batches add column validated_at timestamptz;
        update raw._batches set validated_at = loaded_at where status = 'loaded';
    end if;
end
$$;

-- The run lock (pipeline/run_lock.py): one row while a run holds the warehouse, from ingestion through reports.
create table if not exists ops.run_lock (
    id           integer primary key default 1 check (id = 1),
    holder       text        not null,
    pid          integer,
    host         text,
    acquired_at  timestamptz not null default now()
);

-- Statuses: loaded, empty, duplicate, failed, unknown_feed; held = loaded but stopped by a critical data-quality
-- check (kept out of staging until released with `python -m pipeline batches release <id>`).
alter table raw._batches drop constraint if exists _batches_status_check;
alter table raw._batches add constraint _batches_status_check
    check (status in ('loaded', 'empty', 'duplicate', 'failed', 'unknown_feed', 'held'));

-- Store managers: each login role in store_manager sees only its stores' rows in the store-scoped marts
-- (row-level security, dbt macro store_row_security). Add one with `python -m pipeline roles add-manager`.
create table if not exists ops.store_managers (
    role_name   text not null,
    store_code  text not null,
    primary key (role_name, store_code)
);
-- The policies, vehicles and customers of the calling store manager's stores, for the marts that carry no
-- store_code (dim_customer, dim_vehicle, fct_claims, fct_followups: macro store_row_security). Security definer,
-- so it reads the store-scoped facts whole; it answers only for the session's own login (session_user).
create or replace function ops.managed_keys(kind text) returns setof text
language plpgsql stable security definer set search_path = pg_catalog, ops as $$
declare
    stores text[] := array(select store_code from ops.store_managers where role_name = session_user);
begin
    if kind = 'policy_no' then
        return query execute
            'select distinct policy_no from marts.fct_policy_transactions where store_code = any($1)' using stores;
    elsif kind = 'vin' then
        return query execute
            'select vin from marts.fct_policy_transactions where store_code = any($1)
             union select vin from marts.fct_vehicle_sales where store_code = any($1)
             union select vin from marts.fct_repair_orders where store_code = any($1)' using stores;
    elsif kind = 'customer_id' then
        return query execute
            'select customer_id from marts.fct_vehicle_sales where store_code = any($1)
             union select customer_id from marts.rpt_customer_register where store_code = any($1)
             union select v.customer_id from marts.dim_vehicle as v
                 where v.vin in (select ops.managed_keys(''vin''))' using stores;
    end if;
end
$$;
revoke all on function ops.managed_keys(text) from public;
grant usage on schema marts to finance, insurance_staff, store_manager;
-- bi_reader reads schema bi only (views without commission figures or phone numbers, models/bi); a warehouse
-- built before that loses its grants on the marts here
grant usage on schema bi to bi_reader, store_manager;
-- the views of schema bi call it for a store manager's login (it answers only for the session's own login)
grant execute on function ops.managed_keys(text) to bi_reader;
revoke usage on schema marts from bi_reader;
revoke all on all tables in schema marts from bi_reader;
grant execute on function ops.managed_keys(text) to store_manager;
grant usage on schema ops to store_manager;
grant select on ops.store_managers to store_manager;

-- No parallel hash joins in this database. A left join whose hashed side holds many NULL keys (vehicles
-- without a DMS customer: 320k of 1.1M at 10M rows) makes PostgreSQL's shared hash table split its batches
-- without end: each worker grew past 7 GB and the server was OOM-killed building rpt_renewal_report. The
-- per-worker hash join handles that skew in 260 MB (7 s). Applies to new sessions: dbt, GX and BI alike.
-- random_page_cost 1.1 (PostgreSQL's default of 4 prices a disk seek): on SSD storage the daily build's
-- deletes of a few thousand changed keys use their index instead of scanning the table (fct_premium_monthly
-- at 10M rows: 76 ms instead of 1.7 s alone, 9 s beside the other models).
do $$
begin
    execute format('alter database %I set enable_parallel_hash = off', current_database());
    execute format('alter database %I set random_page_cost = 1.1', current_database());
end
$$;
