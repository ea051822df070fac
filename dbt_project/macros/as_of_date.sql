{# The run's logical date: every rule that depends on "today" uses this, never current_date. #}
{% macro as_of_date() -%}
    {%- set as_of = var('as_of') -%}
    {%- if as_of is none and execute -%}
        {{ exceptions.raise_compiler_error("dbt needs --vars '{as_of: YYYY-MM-DD}': the run's logical date") }}
    {%- endif -%}
    date '{{ as_of }}'
{%- endmacro %}
