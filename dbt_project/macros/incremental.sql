{#
  Incremental builds: a daily run costs in proportion to what changed in the ledger, not to the warehouse.

  Every change to raw._batches (a new batch, a batch held by a gate, released or held by hand) takes the next
  number of the sequence raw._batch_changes (change_seq). Each incremental model keeps the number it has built
  up to in ops.dbt_watermarks; ingestion and dbt never run at the same time (loader lock, max_active_runs=1),
  so every change at or below that number is in the model.

  - Staging (`newest_versions`): the natural keys that a changed batch delivered are re-staged from every
    loaded batch (newest export wins), so a correction, a released batch and a held one are all applied.
    Each staged row carries `ledger_seq`, the ledger's change number when it was staged.
  - Downstream models read the upstream rows whose `ledger_seq` is above their own watermark (`is_changed`).
  - Strategy `replace_keys`: delete the target rows of every key in the new rows, then insert them (null-safe
    keys, unlike delete+insert, since an issue has no endorsement number).
  - A batch held by hand after it reached the marts is removed by a full rebuild, which `pipeline batches
    hold` requests (ops.full_rebuild_requests): its keys may have no other version left to replace them.
#}

{% macro watermark() -%}
    (select coalesce(max(change_seq), 0) from ops.dbt_watermarks where model = '{{ this.name }}')
{%- endmacro %}

{# The as-of date of the model's last build (null before the first). #}
{% macro watermark_as_of() -%}
    (select max(as_of) from ops.dbt_watermarks where model = '{{ this.name }}')
{%- endmacro %}

{% macro record_watermark() -%}
    insert into ops.dbt_watermarks (model, batch_id, change_seq, as_of, recorded_at)
    select '{{ this.name }}', coalesce(max(batch_id), 0), coalesce(max(change_seq), 0), {{ as_of_date() }}, now()
    from raw._batches
    on conflict (model) do update set batch_id = excluded.batch_id, change_seq = excluded.change_seq,
        as_of = excluded.as_of, recorded_at = excluded.recorded_at
{%- endmacro %}

{# The ledger's latest change number, stamped on every row a staging model (re)writes. #}
{% macro current_ledger_seq() -%}
    (select coalesce(max(change_seq), 0) from {{ source('ledger', '_batches') }})
{%- endmacro %}

{# An upstream row written since this model's last build (always true on a full build). #}
{% macro is_changed(relation_alias) -%}
    {%- if is_incremental() -%}
        {{ relation_alias }}.ledger_seq > {{ watermark() }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{# A natural key as one comparable row value: nulls compare equal (an issue has no endorsement number). #}
{% macro key_tuple(key_columns, in_parentheses=true) -%}
    {% if in_parentheses %}({% endif %}{% for column in key_columns %}coalesce({{ column }}::text, ''){% if not loop.last %}, {% endif %}{% endfor %}{% if in_parentheses %}){% endif %}
{%- endmacro %}

{#
  The rows of a source table that staging keeps: from loaded batches only, the newest version of each natural key
  (config unique_key), with `is_latest` to filter on and `ledger_seq`. Incremental runs read only the keys that a
  batch changed since the last build delivered.
#}
{% macro newest_versions(source_relation) -%}
    {%- set key_columns = config.get('unique_key') -%}
    select
        *,
        {{ latest_per_key(key_columns) }} as is_latest,
        {{ current_ledger_seq() }} as ledger_seq
    from {{ from_loaded_batches(source_relation) }} as loaded
    {%- if is_incremental() %}
    where {{ key_tuple(key_columns) }} in (
        select {{ key_tuple(key_columns, in_parentheses=false) }}
        from {{ source_relation }}
        where _batch_id in (
            select batch_id from {{ source('ledger', '_batches') }} where change_seq > {{ watermark() }}
        )
    )
    {%- endif %}
{%- endmacro %}

{% macro get_incremental_replace_keys_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set keys = arg_dict['unique_key'] -%}
    {%- set keys = [keys] if keys is string else keys -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where {{ key_tuple(keys) }} in (select {{ key_tuple(keys, in_parentheses=false) }} from {{ arg_dict['temp_relation'] }});
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{# The policies (insurer_code, policy_no) whose lines changed since this model's last build. #}
{% macro policies_with_changed_lines() -%}
    select distinct changed.insurer_code, changed.policy_no
    from {{ ref('int_policy_lines_unioned') }} as changed
    where {{ is_changed('changed') }}
{%- endmacro %}

{# fct_premium_monthly: the last month its previous build wrote (the as-of month of that build). #}
{% macro premium_monthly_built_through() -%}
    coalesce(date_trunc('month', {{ watermark_as_of() }}), date '0001-01-01')::date
{%- endmacro %}
