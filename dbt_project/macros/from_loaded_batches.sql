{#
  Staging reads only batches whose ledger status is 'loaded': a batch held by a critical data-quality
  failure stays out of every model until someone releases it (python -m pipeline batches release <id>).
  Note: latest_per_key runs after this filter, so a held correction never hides the version before it.
#}
{% macro from_loaded_batches() -%}
    _batch_id in (select batch_id from {{ source('ledger', '_batches') }} where status = 'loaded')
{%- endmacro %}
