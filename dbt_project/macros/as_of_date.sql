{#
  The run's logical date: every rule that depends on "today" uses this, never current_date.
  The pipeline passes it in the environment (DW_DBT_AS_OF), read only when a node executes: a `--vars` value is part
  of the parse checksum, so a new date each day made dbt re-parse the whole project, and an env_var read at parse time
  would make it re-parse every model that calls this macro. A `vars: {as_of: ...}` (unit tests, sqlfluff) wins.
#}
{% macro as_of_date() -%}
    {%- set as_of = var('as_of', none) -%}
    {%- if as_of is none and execute -%}
        {%- set as_of = env_var('DW_DBT_AS_OF', '') -%}
        {%- if not as_of -%}
            {{ exceptions.raise_compiler_error("dbt needs the run's logical date: DW_DBT_AS_OF=YYYY-MM-DD (the pipeline sets it)") }}
        {%- endif -%}
    {%- endif -%}
    date '{{ as_of }}'
{%- endmacro %}
