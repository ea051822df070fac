{#
  Fresh statistics for a table dbt just built. PostgreSQL plans the next model's joins from them; without
  them (autovacuum has not seen the new table yet) it guessed a nested loop that took minutes at 1M rows.
  A table that already has statistics is analyzed again only once a tenth of it has changed since (the
  threshold autovacuum uses): a daily incremental build changes about 1%, and analyzing all sixteen
  incremental tables cost it 10-15 s at 10M rows.
#}
{% macro analyze_table() -%}
    {%- if model.config.materialized in ('table', 'incremental') -%}
        do $$
        begin
            if not exists (
                select from pg_stats where schemaname = '{{ this.schema }}' and tablename = '{{ this.identifier }}'
            ) or coalesce((
                select stats.n_mod_since_analyze > 0.1 * greatest(class.reltuples, 1)
                from pg_stat_user_tables as stats
                inner join pg_class as class on stats.relid = class.oid
                where stats.relid = '{{ this }}'::regclass
            ), true) then
                analyze {{ this }};
            end if;
        end
        $$
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
