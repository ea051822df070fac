-- Least privilege per step (pipeline/roles.py): run by the bootstrap, as a superuser, in the warehouse database.
-- dw_loader (ingestion) writes raw.* and the ledger and keeps the run's bookkeeping in ops; it reads no mart.
-- dw_transformer (dbt) reads raw, owns and writes staging, intermediate, marts and snapshots, records its
-- watermarks; it may not change the ledger (raw._batches: select only; the gate's marks are dw_loader's).
-- dw_reader (reports, due lists) reads; it writes nothing. dw_checker (GX) reads as dw_reader and writes
-- only its results in dq.
grant usage, create on schema raw to dw_loader;
grant usage on schema raw to dw_transformer, dw_reader;
grant usage, create on schema staging, intermediate, marts, snapshots, bi to dw_transformer;
grant usage on schema staging, intermediate, marts, snapshots, bi, dq, ops to dw_reader;
grant usage on schema ops to dw_loader, dw_transformer;
grant usage, create on schema dq to dw_checker;
grant dw_reader to dw_checker;
-- the reading roles see every mart as finance and insurance staff do (row-level security: every row)
grant finance, insurance_staff to dw_reader;

-- Objects made before these roles existed (or by a superuser's own ingest/dbt run) change owner: raw to the
-- loader, the layers dbt builds to the transformer. A sequence of an identity column follows its table.
do $$
declare
    item record;
begin
    for item in
        select n.nspname, c.relname, c.relkind,
               case when n.nspname = 'raw' then 'dw_loader' else 'dw_transformer' end as owner
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('raw', 'staging', 'intermediate', 'marts', 'snapshots', 'bi')
          and c.relkind in ('r', 'p', 'v', 'm', 'S')
          and pg_get_userbyid(c.relowner) <> case when n.nspname = 'raw' then 'dw_loader' else 'dw_transformer' end
          and not exists (select 1 from pg_depend d
                          where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i'))
    loop
        execute format('alter %s %I.%I owner to %I',
                       case item.relkind when 'v' then 'view' when 'm' then 'materialized view'
                                         when 'S' then 'sequence' else 'table' end,
                       item.nspname, item.relname, item.owner);
    end loop;
end
$$;

grant select on all tables in schema raw to dw_transformer, dw_reader;
grant select on all tables in schema staging, intermediate, marts, snapshots, bi, dq, ops to dw_reader;
alter default privileges for role dw_loader in schema raw grant select on tables to dw_transformer, dw_reader;
alter default privileges for role dw_transformer in schema staging, intermediate, marts, snapshots, bi
    grant select on tables to dw_reader;

-- the ledger's bookkeeping: the run lock and run records (loader), dbt's watermarks (transformer)
grant select, insert, update, delete on ops.run_lock, ops.pipeline_runs, ops.full_rebuild_requests to dw_loader;
grant select, insert, update on ops.dbt_watermarks to dw_transformer;
-- dbt_build decides on a full rebuild (pipeline/dbt_state.py) as the loader: the project's recorded fingerprint, and
-- whether anything was built before it
grant select, insert, update on ops.dbt_project_state to dw_loader;
grant select on ops.dbt_watermarks to dw_loader;
grant select on ops.full_rebuild_requests, ops.store_managers to dw_transformer;
-- the row-level security rules dbt writes name ops.managed_keys
grant execute on function ops.managed_keys(text) to dw_transformer;
-- GX's results (expectations/runner.py creates the table when missing; dw_checker may, in dq only)
grant select, insert, delete on dq.validation_results to dw_checker;
