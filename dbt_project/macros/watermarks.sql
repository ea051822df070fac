{#
  Incremental facts keep their published columns exactly, so the last raw batch a model has processed is
  kept beside it in ops.dbt_watermarks. Ingestion and dbt never run at the same time (loader lock and
  max_active_runs=1), so every batch at or below the watermark is in the model.
#}
{% macro watermark(model_name) -%}
    (select coalesce(max(batch_id), 0) from ops.dbt_watermarks where model = '{{ model_name }}')
{%- endmacro %}

{% macro record_watermark(model_name) -%}
    insert into ops.dbt_watermarks (model, batch_id, recorded_at)
    select '{{ model_name }}', coalesce(max(batch_id), 0), now() from raw._batches
    on conflict (model) do update set batch_id = excluded.batch_id, recorded_at = excluded.recorded_at
{%- endmacro %}
