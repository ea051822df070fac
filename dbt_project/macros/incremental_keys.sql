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
  dbt unit test of the model would otherwise have to mock the raw table. Looked up by the raw table's key index
  (ingestion/loader.py key_index_ddl), whose expressions are key_tuple's: `key_columns` are the key's leading columns.
#}
{% macro keys_of_every_version(staging, raw_table, key_columns, column) -%}
    select every_version.{{ column }}
    from raw.{{ raw_table }} as every_version
    where {{ key_tuple(prefixed(key_columns, 'every_version')) }} in (
        select {{ key_tuple(key_columns, in_parentheses=false) }} from {{ staging }} where ledger_seq > {{ watermark() }}
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

{#
  int_renewal_pool_vehicles_classified's affected VINs (docs block renewal_pool_incremental): the inputs that changed
  and the rows the as-of date turned since the model's last build. Computed once, in its pre-hook (keep_affected_keys).
#}
{% macro renewal_pool_affected_vins() -%}
    {{ vins_of_rewritten_policies(every_version=true) }}
    union
    select opportunities.vin
    from {{ ref('int_renewal_opportunities_matched') }} as opportunities
    where
        {{ is_changed('opportunities') }}
        -- pending turns lost after due + 30 (int_renewal_opportunities_matched rewrites it under the same ledger_seq)
        or {{ as_of_moved_past('opportunities.due_date', insurance_parameter('renewal_window_after_days') ~ '::int') }}
        -- a lost opportunity leaves the lapsed window after due + 365
        or {{ as_of_moved_past('opportunities.due_date', insurance_parameter('lapsed_pool_days') ~ '::int') }}
    union
    {{ vins_of_changed_sales_orders() }}
    union
    {{ keys_of_every_version(ref('stg_aftersales__repair_orders'), 'aftersales_ro', ['ro_no'], 'vin') }}
    union
    -- the candidate's employment: a changed staff record, or a hiring or leaving day the date passed
    select previous.vin
    from {{ this }} as previous
    inner join {{ ref('stg_dms__staff') }} as staff on previous.candidate_staff_id = staff.staff_id
    where
        {{ is_changed('staff') }}
        or {{ as_of_moved_past('staff.hired_date') }}
        or {{ as_of_moved_past('staff.left_date') }}
    union
    -- a delivery or a repair order counts from its day, a repair order for 365 days, a recorded expiry from its
    -- repair order's day
    select deliveries.vin
    from {{ ref('int_sales_orders_delivered') }} as deliveries
    where {{ as_of_moved_past('deliveries.delivery_date') }}
    union
    select repair_orders.vin
    from {{ ref('stg_aftersales__repair_orders') }} as repair_orders
    where
        {{ as_of_moved_past('repair_orders.opened_date') }}
        or {{ as_of_moved_past('repair_orders.opened_date', insurance_parameter('serviced_lookback_days') ~ '::int') }}
    union
    select records.vin
    from {{ ref('stg_aftersales__insurance_records') }} as records
    where records.insurance_expiry_date is not null and {{ as_of_moved_past('records.opened_date') }}
    union
    -- a computed due date (sold_not_insured, serviced_not_insured) is the first term end on or after as_of − grace:
    -- it moves on a term once a later date's as_of − grace passes it, and back a term when an earlier date's
    -- as_of − grace is on or before the term end before it (at least 365 days per year of term earlier)
    select previous.vin
    from {{ this }} as previous
    where
        previous.pool_type in ('sold_not_insured', 'serviced_not_insured')
        and (
            (
                {{ as_of_date() }} > {{ watermark_as_of() }}
                and previous.due_date < {{ as_of_date() }} - {{ insurance_parameter('pool_grace_days') }}::int
            )
            or (
                {{ as_of_date() }} < {{ watermark_as_of() }}
                and previous.due_date - 365 * {{ insurance_parameter('policy_term_years') }}::int
                >= {{ as_of_date() }} - {{ insurance_parameter('pool_grace_days') }}::int
            )
        )
    union
    -- a main policy is in force from its start to its end date
    select policies.vin
    from {{ ref('int_policies_aggregated') }} as policies
    where
        policies.is_main and policies.has_issue
        and ({{ as_of_moved_past('policies.start_date') }} or {{ as_of_moved_past('policies.end_date', 1) }})
{%- endmacro %}

{#
  int_renewal_due_vehicles_listed's affected VINs (docs block renewal_pool_incremental): the pool's rows in the window
  against the rows listed, and the inputs that changed. Computed once, in its pre-hook (keep_affected_keys).
#}
{% macro due_list_affected_vins() -%}
with in_window as (

    {{ due_list_window_rows() }}

)

    -- the pool's rows in the window against the rows listed: pool-derived columns compared
    select coalesce(in_window.vin, listed.vin) as vin
    from in_window
    full outer join {{ this }} as listed on in_window.vin = listed.vin
    where
        in_window.vin is null
        or listed.vin is null
        or (
            in_window.pool_type, in_window.store_code, in_window.assignment_reason, in_window.due_date,
            in_window.expiring_insurer_code, in_window.expiring_policy_no, in_window.expiring_commercial_premium,
            in_window.candidate_staff_id, in_window.assigned_staff_id
        ) is distinct from (
            listed.pool_type, listed.store_code, listed.assignment_reason, listed.due_date,
            listed.insurer_code, listed.expiring_policy_no, listed.expiring_commercial_premium,
            listed.seller_staff_id, listed.assigned_staff_id
        )
    union
    {{ keys_of_every_version(ref('stg_dms__followups'), 'dms_followups', ['record_no'], 'vin') }}
    union
    -- the last follow-up is the last one dated up to the as-of date
    select followups.vin
    from {{ ref('stg_dms__followups') }} as followups
    where {{ as_of_moved_past('followups.followup_date') }}
    union
    {{ keys_of_every_version(ref('stg_aftersales__repair_orders'), 'aftersales_ro', ['ro_no'], 'vin') }}
    union
    {{ vins_of_changed_owners() }}
    union
    {{ vins_of_rewritten_policies() }}
    union
    select opportunities.vin
    from {{ ref('int_renewal_opportunities_matched') }} as opportunities
    where {{ is_changed('opportunities') }}
{%- endmacro %}

{#
  int_main_policies_classified's affected VINs: policies or renewal opportunities rewritten, sales orders or repair
  orders changed (the VIN before and after a correction). Computed once, in its pre-hook (keep_affected_keys).
#}
{% macro main_policies_affected_vins() -%}
    {{ vins_of_rewritten_policies() }}
    union
    select opportunities.vin
    from {{ ref('int_renewal_opportunities_matched') }} as opportunities
    where {{ is_changed('opportunities') }}
    union
    {{ vins_of_changed_sales_orders() }}
    union
    {{ keys_of_every_version(ref('stg_aftersales__repair_orders'), 'aftersales_ro', ['ro_no'], 'vin') }}
{%- endmacro %}

{#
  int_renewal_opportunities_matched's affected VINs: policies rewritten, follow-ups changed (old and new VIN), sellers'
  employment changed, opportunities whose due + 30 and policies whose sign date the as-of date moved past. Computed
  once, in its pre-hook (keep_affected_keys).
#}
{% macro renewal_opportunities_affected_vins() -%}
    {{ vins_of_rewritten_policies() }}
    union
    {{ keys_of_every_version(ref('stg_dms__followups'), 'dms_followups', ['record_no'], 'vin') }}
    union
    select policies.vin
    from {{ ref('int_policies_aggregated') }} as policies
    where policies.staff_id in (
        select staff.staff_id from {{ ref('stg_dms__staff') }} as staff where {{ is_changed('staff') }}
    )
    union
    select previous.vin
    from {{ this }} as previous
    where {{ as_of_moved_past('previous.due_date', insurance_parameter('renewal_window_after_days') ~ '::int') }}
    union
    -- a win-back counts from its sign date on (won_back_date <= as-of date)
    select policies.vin
    from {{ ref('int_policies_aggregated') }} as policies
    where {{ as_of_moved_past('policies.sign_date') }}
{%- endmacro %}

{#
  int_policies_typed's affected VINs: policies rewritten, or main policies classified again. Computed once, in its
  pre-hook (keep_affected_keys).
#}
{% macro policies_typed_affected_vins() -%}
    {{ vins_of_rewritten_policies() }}
    union
    select classified.vin
    from {{ ref('int_main_policies_classified') }} as classified
    where {{ is_changed('classified') }}
{%- endmacro %}
