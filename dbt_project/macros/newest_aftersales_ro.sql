{#
  The header both staging models of the after-sales export aftersales_ro share (stg_aftersales__repair_orders and
  stg_aftersales__insurance_records, the optional insurance columns): the feed's natural key ro_no as the model's
  unique_key, and the CTE `source` with the newest version of each repair order from loaded batches.
#}
{% macro newest_aftersales_ro() -%}
    {{ config(unique_key=['ro_no']) }}
    with source as (
        select *
        from (
            {{ newest_versions(source('aftersales', 'aftersales_ro')) }}
        ) as versions
        where is_latest
    )
{%- endmacro %}
