{#
  The rows of a raw table that staging reads: those of batches whose ledger status is 'loaded', each with its
  file's export date. A batch held by a critical data-quality failure stays out of every model until someone
  releases it (python -m pipeline batches release <id>).
  Note: latest_per_key runs after this filter, so a held correction never hides the version before it.
#}
{% macro from_loaded_batches(source_relation) -%}
    (
        select
            rows.*,
            batches.export_date as _export_date
        from {{ source_relation }} as rows
        inner join {{ source('ledger', '_batches') }} as batches on rows._batch_id = batches.batch_id
        where batches.status = 'loaded'
    )
{%- endmacro %}
