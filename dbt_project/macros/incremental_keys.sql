{#
  Per-key incremental rules for models whose rows depend on other rows of the same key (a vehicle's policies,
  follow-ups and sellers) and on the run's as-of date. Such a model is rebuilt per key: a daily run recomputes
  every row of the keys the run affects and replaces them (strategy replace_keys on the model's primary key), after
  a pre-hook has deleted the rows of the upstream rows that changed (a row can stop existing: a policy cancelled or
  no longer main). The keys a run affects:
  - the keys of upstream rows written since the model's last build (`ledger_seq` above its watermark),
  - the key each of those rows had before, when a correction changed it (a corrected VIN): read from every version of
    the changed rows in the raw export, since staging keeps only the newest (`keys_of_every_version`),
  - the rows whose outcome the as-of date decides and that the date moved past since the model's last build
    (`as_of_moved_past`).
  On a full build every macro here yields "everything".
#}

{#
  Pre-hook: delete this model's rows whose key an upstream row written since the last build carries, so that a row
  whose upstream row no longer qualifies (cancelled, no longer main) leaves; the others are written again.
#}
{% macro delete_rows_of_changed_keys(upstream, upstream_keys, target_keys) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where ({{ target_keys | join(', ') }}) in (
            select {{ upstream_keys | join(', ') }} from {{ upstream }} where ledger_seq > {{ watermark() }}
        )
    {%- endif -%}
{%- endmacro %}

{#
  The values of `column` (e.g. vin) in every version of the staging rows written since the last build: the raw
  export table (schema raw, as ingestion names it) holds each version, staging only the newest, so a corrected VIN
  yields the old VIN and the new one. Read by name, not through source(): only staging models call source(), and a
  dbt unit test of the model would otherwise have to mock the raw table. Raw tables have no key index: one scan of
  the export, as the staging model itself makes.
#}
{% macro keys_of_every_version(staging, raw_table, key_columns, column) -%}
    select every_version.{{ column }}
    from raw.{{ raw_table }} as every_version
    where ({{ key_columns | join(', ') }}) in (
        select {{ key_columns | join(', ') }} from {{ staging }} where ledger_seq > {{ watermark() }}
    )
{%- endmacro %}

{#
  Whether `day` (a day on which an outcome turns: due + grace, where pending turns lost; a win-back's sign date) lies
  between the as-of date of the model's last build and this run's, ends included, in either direction (a re-run for
  an earlier date turns it back). False when the date did not move.
#}
{% macro as_of_moved_past(day) -%}
    (
        {{ watermark_as_of() }} is distinct from {{ as_of_date() }}
        and {{ day }} between least({{ watermark_as_of() }}, {{ as_of_date() }})
        and greatest({{ watermark_as_of() }}, {{ as_of_date() }})
    )
{%- endmacro %}

{#
  The ledger's latest change number, stamped on every row a per-key model (re)writes: current_ledger_seq without
  source(), which a dbt unit test of the model would have to mock (the unit tests give only the model's inputs).
#}
{% macro ledger_seq_now() -%}
    (select coalesce(max(change_seq), 0) from raw._batches)
{%- endmacro %}

{# A row of an affected key: `column` in the model's CTE `affected_vins` (always true on a full build). #}
{% macro is_affected_vin(column) -%}
    {%- if is_incremental() -%}
        {{ column }} in (select affected_vins.vin from affected_vins)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
