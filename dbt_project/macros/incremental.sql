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
    keys, unlike delete+insert, since an issue has no endorsement number; looked up by an index on the key).
  - A batch held by hand after it reached the marts is removed by a full rebuild, which `pipeline batches
    hold` requests (ops.full_rebuild_requests): its keys may have no other version left to replace them.
#}

{#
  The change number this model has been built up to (0 before its first build). The pipeline passes every model's
  watermark in DW_DBT_WATERMARKS, read just before dbt starts (a model's own watermark changes only in its post-hook,
  after its statements), so it is a literal the planner can estimate. As a subquery, `ledger_seq > (select ...)` was
  guessed at a third of the rows: the daily lookups of changed keys planned hash joins over whole tables (10M rows,
  staging of the repair orders: 3.6 s; with the literal and the raw key index, 0.4 s). Without the variable (dbt run
  by hand) the subquery. Read only when a node executes, like DW_DBT_AS_OF (as_of_date).
#}
{% macro watermark() -%}
    {%- set recorded = recorded_watermarks() -%}
    {%- if recorded is none -%}
        (select coalesce(max(change_seq), 0) from ops.dbt_watermarks where model = '{{ this.name }}')
    {%- else -%}
        {{ recorded.get(this.name, {}).get('change_seq', 0) | int }}
    {%- endif -%}
{%- endmacro %}

{# The as-of date of the model's last build (null before the first); a literal as in watermark(). #}
{% macro watermark_as_of() -%}
    {%- set recorded = recorded_watermarks() -%}
    {%- if recorded is none -%}
        (select max(as_of) from ops.dbt_watermarks where model = '{{ this.name }}')
    {%- else -%}
        {%- set as_of = recorded.get(this.name, {}).get('as_of') -%}
        {%- if as_of -%}
            date '{{ modules.datetime.date.fromisoformat(as_of) }}'
        {%- else -%}
            null::date
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{# The watermarks of every model, by name, from DW_DBT_WATERMARKS (pipeline/dbt_state.py); none without it. #}
{% macro recorded_watermarks() -%}
    {%- if execute and env_var('DW_DBT_WATERMARKS', '') -%}
        {%- do return(fromjson(env_var('DW_DBT_WATERMARKS'))) -%}
    {%- endif -%}
    {%- do return(none) -%}
{%- endmacro %}

{% macro record_watermark() -%}
    insert into ops.dbt_watermarks (model, batch_id, change_seq, as_of, recorded_at)
    select '{{ this.name }}', coalesce(max(batch_id), 0), coalesce(max(change_seq), 0), {{ as_of_date() }}, now()
    from raw._batches
    on conflict (model) do update set batch_id = excluded.batch_id, change_seq = excluded.change_seq,
        as_of = excluded.as_of, recorded_at = excluded.recorded_at,
        -- the daily build's tests read the rows above it (macros/test_scope.sql); a build that finds no new
        -- ledger change (a retry after a failed test) keeps it, so the retry tests the same rows again
        previous_change_seq = case
            when excluded.change_seq > ops.dbt_watermarks.change_seq then ops.dbt_watermarks.change_seq
            else ops.dbt_watermarks.previous_change_seq
        end
{%- endmacro %}

{# The ledger's latest change number, stamped on every row a staging model (re)writes: ledger_seq_now() read through source(). #}
{% macro current_ledger_seq() -%}
    {{ ledger_seq_now(source('ledger', '_batches')) }}
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

{#
  The old rows are found in two deletes. Keys whose columns are all set (nearly every row) are matched with
  plain equality, which the table's index on the key columns serves. Keys with an empty column (an issue has no
  endorsement number) are matched null-safe as one row value, which no index serves: that delete scans the
  table, and is skipped at once when the new rows hold no such key. Before, every key went the second way and
  every daily build scanned each incremental table.
#}
{% macro get_incremental_replace_keys_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set new_rows = arg_dict['temp_relation'] -%}
    {%- set keys = arg_dict['unique_key'] -%}
    {%- set keys = [keys] if keys is string else keys -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set all_set = keys | join(' is not null and ') ~ ' is not null' -%}
    delete from {{ target }} as existing
    using (select distinct {{ keys | join(', ') }} from {{ new_rows }} where {{ all_set }}) as changed
    where {% for column in keys %}existing.{{ column }} = changed.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %};
    delete from {{ target }}
    where exists (select from {{ new_rows }} where not ({{ all_set }}))
        and {{ key_tuple(keys) }} in (
            select {{ key_tuple(keys, in_parentheses=false) }} from {{ new_rows }} where not ({{ all_set }})
        );
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ new_rows }}
{%- endmacro %}

{#
  Staging: a unique index on the natural key (config unique_key, a list, as newest_versions reads it): PostgreSQL
  refuses a second row of a key on every write (`nulls not distinct`: an issue without endorsement number is one
  key too), and the daily build's deletes look rows up by it. Created when the table has no such index (a full
  refresh builds a new table, and the old one with its index is dropped only after the hooks have run, so a fixed
  index name would be taken); the plain index older builds made on the same columns is dropped.
#}
{% macro index_unique_key() -%}
    {%- set keys = config.get('unique_key') -%}
    do $$
    declare
        plain regclass;
    begin
        for plain in
            select i.indexrelid::regclass from pg_index as i
            where i.indrelid = '{{ this }}'::regclass and not i.indisunique
                and {{ index_columns_are(keys) }}
        loop
            execute format('drop index %s', plain);
        end loop;
        if not exists (
            select from pg_index as i
            where i.indrelid = '{{ this }}'::regclass and i.indisunique and i.indnullsnotdistinct
                and {{ index_columns_are(keys) }}
        ) then
            create unique index on {{ this }} ({{ keys | join(', ') }}) nulls not distinct;
        end if;
    end
    $$
{%- endmacro %}

{% macro index_columns_are(keys) -%}
    array(
        select a.attname::text
        from unnest(i.indkey::int2[]) with ordinality as k (attnum, position)
        inner join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum
        order by k.position
    ) = array[{% for key in keys %}'{{ key }}'{% if not loop.last %}, {% endif %}{% endfor %}]
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
