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
    {{ delete_rows_with_keys(
        target_keys,
        'select ' ~ upstream_keys | join(', ') ~ ' from ' ~ upstream ~ ' where ledger_seq > ' ~ watermark()
    ) }}
{%- endmacro %}

{#
  Pre-hook of a per-key model whose pre-hook delete and select both need the run's affected keys (`query`): computed
  once, into a temporary table both read (the hooks and the model's statements share one connection and transaction;
  dropped at commit), and analyzed, since a temporary table has no statistics and a one-row guess plans nested loops.
  Incremental builds only; the model reads it as `affected_keys()`.
#}
{% macro keep_affected_keys(query) -%}
    {%- if is_incremental() -%}
        create temporary table {{ affected_keys() }} on commit drop as
        {{ query }};
        analyze {{ affected_keys() }}
    {%- endif -%}
{%- endmacro %}

{# The temporary table of keep_affected_keys. #}
{% macro affected_keys() -%}
    {{ this.name }}__affected_keys
{%- endmacro %}

{# The one delete of the pre-hooks: this model's rows whose `target_keys` are among the rows of `keys` (a query). #}
{% macro delete_rows_with_keys(target_keys, keys) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where ({{ target_keys | join(', ') }}) in (
            {{ keys }}
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
  Whether `day` + `days_after` (a day on which an outcome turns: due + grace, where pending turns lost; a win-back's
  sign date) lies between the as-of date of the model's last build and this run's, ends included, in either direction
  (a re-run for an earlier date turns it back). False when the date did not move. The offset moves to the ends, so
  that `day` is a bare column an index on it serves: a day's move reads two days of rows, not the table.
#}
{% macro as_of_moved_past(day, days_after=none) -%}
    {%- set shift = (' - ' ~ days_after) if days_after else '' -%}
    (
        {{ watermark_as_of() }} is distinct from {{ as_of_date() }}
        and {{ day }} between least({{ watermark_as_of() }}, {{ as_of_date() }}){{ shift }}
        and greatest({{ watermark_as_of() }}, {{ as_of_date() }}){{ shift }}
    )
{%- endmacro %}

{#
  The ledger's latest change number, stamped on every row an incremental model (re)writes: the one definition.
  Per-key models read the ledger by name, not through source(), which a dbt unit test of the model would have to
  mock (the unit tests give only the model's inputs); staging passes source('ledger', '_batches') (current_ledger_seq).
#}
{% macro ledger_seq_now(ledger='raw._batches') -%}
    (select coalesce(max(change_seq), 0) from {{ ledger }})
{%- endmacro %}

{# A row of an affected key: `column` in the model's CTE `affected_vins` (always true on a full build). #}
{% macro is_affected_vin(column) -%}
    {%- if is_incremental() -%}
        {{ column }} in (select affected_vins.vin from affected_vins)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#
  The VINs of the policies int_policies_aggregated rewrote since the model's last build: it rewrites every policy of a
  changed policy's vehicles, before and after a corrected VIN, while a policy of the group is left on each. With
  `every_version`, also the VIN of every version of the changed policies in the insurers' raw exports, so the old
  vehicle of a corrected VIN is found when no policy of the group is left on it (a per-vehicle model whose rows exist
  for vehicles without a policy: the renewal pool). A model that calls it with `every_version` names the insurers'
  staging models in a `depends_on` comment (the call sits in the model's incremental branch, which parsing skips).
#}
{% macro vins_of_rewritten_policies(every_version=false) -%}
    select policies.vin
    from {{ ref('int_policies_aggregated') }} as policies
    where {{ is_changed('policies') }}
    {%- if every_version %}
    union
    {{ keys_of_every_version(ref('stg_insurer_picc__policies'), 'insurer_picc', ['policy_no'], 'vin') }}
    union
    {{ keys_of_every_version(ref('stg_insurer_paic__policy_lines'), 'insurer_paic', ['policy_no'], 'vin') }}
    union
    {{ keys_of_every_version(ref('stg_insurer_cpic__policies'), 'insurer_cpic', ['policy_no'], 'vin') }}
    {%- endif %}
{%- endmacro %}

{#
  Post-hook of a per-key model whose keys can leave it (a vehicle leaves the renewal pool): the model writes each
  affected key that has no row any more as a row with only its key (`column`, a column never empty otherwise, is
  empty), which replaces the key's old row; this deletes those rows before any test or model reads the table.
#}
{% macro delete_tombstones(column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ column }} is null
    {%- endif -%}
{%- endmacro %}

{#
  The rows a per-VIN model writes for its affected vehicles that left it (no row in the CTE `current`, a row in the
  table): the VIN alone, every other column empty but `ledger_seq`, in the table's column order. Each replaces the
  vehicle's old row, and delete_tombstones then deletes it. Incremental builds only (the table exists).
#}
{% macro rows_of_leaving_vins(current) -%}
select
    {%- for column in adapter.get_columns_in_relation(this) %}
    {% if column.name == 'vin' -%}
        affected_vins.vin
    {%- elif column.name == 'ledger_seq' -%}
        {{ ledger_seq_now() }} as ledger_seq
    {%- else -%}
        null as {{ column.name }}
    {%- endif %}{{ ',' if not loop.last }}
    {%- endfor %}
from affected_vins
where
    not exists (select from {{ current }} where {{ current }}.vin = affected_vins.vin)
    and exists (select from {{ this }} as previous where previous.vin = affected_vins.vin)
{%- endmacro %}

{#
  Post-hook of a per-key model with columns counted from the as-of date (days to the due date): the date moves under
  every row, not only under the keys the run rewrote, so each such column (a dict: column → its expression over the
  row's other columns) is set again on every row where the date changed it; no row is touched when it did not move.
#}
{% macro refresh_as_of_columns(expressions) -%}
    {%- if is_incremental() -%}
        update {{ this }} as refreshed
        set {% for column, expression in expressions.items() %}{{ column }} = {{ expression }}{% if not loop.last %}, {% endif %}{% endfor %}
        where {% for column, expression in expressions.items() %}{{ column }} is distinct from {{ expression }}{% if not loop.last %} or {% endif %}{% endfor %}
    {%- endif -%}
{%- endmacro %}

{#
  A mart that copies an intermediate model whose rows the as-of date rewrites under an unchanged `ledger_seq` (pending
  turns lost with no new batch) cannot copy the rows above its watermark; it copies the rows that differ instead. Pre-
  hook: delete the rows whose key `upstream` no longer has (a policy cancelled, or no longer main).
#}
{% macro delete_rows_not_in(upstream, key_columns) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as published
        where not exists (
            select from {{ upstream }} as current
            where {% for column in key_columns %}current.{{ column }} = published.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{#
  The model's select, in an incremental build, keeps only the rows of `current` (its CTE of every row) that the table
  does not already hold as they are: compared on every column but `ledger_seq`, by key (the primary key's index).
#}
{% macro unless_published_as_is(current, key_columns) -%}
    {%- if is_incremental() -%}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | reject('equalto', 'ledger_seq') | list -%}
    where not exists (
        select from {{ this }} as published
        where {% for column in key_columns %}published.{{ column }} = {{ current }}.{{ column }} and {% endfor %}
            ({% for column in columns %}published.{{ column }}{{ ', ' if not loop.last }}{% endfor %})
            is not distinct from ({% for column in columns %}{{ current }}.{{ column }}{{ ', ' if not loop.last }}{% endfor %})
    )
    {%- endif -%}
{%- endmacro %}
