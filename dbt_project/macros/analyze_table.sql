{#
  Fresh statistics for a table dbt just built. PostgreSQL plans the next model's joins from them; without
  them (autovacuum has not seen the new table yet) it guessed a nested loop that took minutes at 1M rows.
#}
{% macro analyze_table() -%}
    {%- if model.config.materialized in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
