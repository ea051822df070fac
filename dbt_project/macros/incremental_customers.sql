{#
  Per-key incremental rules of the commission reconciliation (fct_commission_settlement), one row per insurer ×
  policy × transaction × class, rebuilt per transaction (insurer_code, policy_no, txn_no: every class of it).

  A row depends on the fact rows of its transaction (expected commission, sign date, store), the exported rates of
  its coverage lines, the statement rows of its key (newest version of each), and one value across keys: the
  latest statement month of its insurer (a transaction on no statement is `missing` once the insurer sent a
  statement for a later month, `unsettled` before). The as-of date plays no part. Affected transactions:
  - those whose fact rows fct_policy_transactions wrote since this model's last build (`ledger_seq`; it rewrites
    every line of a transaction whose lines changed, so the exported rates are covered too),
  - those of every version of the statement rows staged since the last build: the raw export holds each version,
    staging only the newest, and 保险公司 is not part of a statement row's key, so a re-issued row can move to
    another insurer (`commission_statement_keys_of_every_version`),
  - the rows on no statement whose status the insurer's latest statement month now turns (missing ↔ unsettled):
    read from the model's own rows, in the model (`commission_rows_turned_by_latest_statement`).
  On a full build every macro here yields "everything".
#}

{#
  The transactions of the upstream rows written since the last build (fact rows and statement rows), each with whether
  a statement row named it (`by_statement`: its insurer's latest statement month may have moved).
#}
{% macro commission_transactions_changed() -%}
    select facts.insurer_code, facts.policy_no, facts.txn_no, false as by_statement
    from {{ ref('fct_policy_transactions') }} as facts
    where facts.ledger_seq > {{ watermark() }}
    union
    select statements.insurer_code, statements.policy_no, statements.txn_no, true as by_statement
    from ({{ commission_statement_keys_of_every_version() }}) as statements
{%- endmacro %}

{#
  Every version of the statement rows staged since the last build, as (insurer_code, policy_no, txn_no): read by
  name from the raw export (as keys_of_every_version does; the key has an empty endorsement number on the
  original issue, so it is matched null-safe).
#}
{% macro commission_statement_keys_of_every_version() -%}
    {%- set key_columns = ['statement_no', 'policy_no', 'endorsement_no', 'policy_class'] -%}
    select every_version.insurer_code, every_version.policy_no, coalesce(every_version.endorsement_no, '0') as txn_no
    from raw.insurer_settlements as every_version
    where {{ key_tuple(prefixed(key_columns, 'every_version')) }} in (
        select {{ key_tuple(prefixed(key_columns, 'staged'), in_parentheses=false) }}
        from {{ ref('stg_insurer__settlements') }} as staged
        where staged.ledger_seq > {{ watermark() }}
    )
{%- endmacro %}

{# Column names qualified by a table alias. #}
{% macro prefixed(columns, alias) -%}
    {%- set qualified = [] -%}
    {%- for column in columns -%}
        {%- do qualified.append(alias ~ '.' ~ column) -%}
    {%- endfor -%}
    {%- do return(qualified) -%}
{%- endmacro %}



{#
  int_vehicles_attributed, per VIN: the VINs of every version of the sales orders staged since the model's last
  build (a corrected VIN yields the old VIN and the new one; keys_of_every_version reads the raw export).
#}
{% macro vins_of_changed_sales_orders() -%}
    {{ keys_of_every_version(ref('stg_dms__sales_orders'), 'dms_sales', ['order_no'], 'vin') }}
{%- endmacro %}


{#
  dim_vehicle, per VIN: the VINs named by the rows of every feed it reads that were written since its last build, in
  every version the raw exports hold (a corrected VIN yields the old VIN and the new one): the policies'
  (vins_of_rewritten_policies: every policy of a changed policy's vehicles, and the insurers' raw versions), the sales
  orders', repair orders', claims', leads' and follow-ups'.
#}
{% macro vins_named_by_changed_rows() -%}
    {{ vins_of_rewritten_policies(every_version=true) }}
    union
    {{ vins_of_changed_sales_orders() }}
    union
    {{ keys_of_every_version(ref('stg_aftersales__repair_orders'), 'aftersales_ro', ['ro_no'], 'vin') }}
    union
    {{ keys_of_every_version(ref('stg_insurer__claims'), 'insurer_claims', ['claim_no'], 'vin') }}
    union
    {{ keys_of_every_version(ref('stg_dms__leads'), 'dms_leads', ['lead_no'], 'vin') }}
    union
    {{ keys_of_every_version(ref('stg_dms__followups'), 'dms_followups', ['record_no'], 'vin') }}
{%- endmacro %}

{#
  int_policy_customers_classified, per policy: the policies int_policies_aggregated rewrote since the model's last
  build (their lines changed, or a vehicle neighbour's), and every policy of the VINs whose DMS owner may have changed
  (every version of the sales orders staged since then: a corrected VIN names the old vehicle and the new one) or
  whose owner's customer record was staged again.
#}
{% macro policies_of_changed_customers() -%}
    select policies.insurer_code, policies.policy_no
    from {{ ref('int_policies_aggregated') }} as policies
    where {{ is_changed('policies') }}
    union
    select policies.insurer_code, policies.policy_no
    from {{ ref('int_policies_aggregated') }} as policies
    inner join ({{ vins_of_changed_owners() }}) as owner_changed on policies.vin = owner_changed.vin
{%- endmacro %}

{#
  The VINs whose DMS owner may have changed since the model's last build (every version of the sales orders staged
  since then: a corrected VIN names the old vehicle and the new one) or whose owner's customer record was staged again.
#}
{% macro vins_of_changed_owners() -%}
    {{ vins_of_changed_sales_orders() }}
    union
    select owners.vin
    from {{ ref('int_vehicles_attributed') }} as owners
    inner join {{ ref('stg_dms__customers') }} as customers on owners.customer_id = customers.customer_id
    where {{ is_changed('customers') }}
{%- endmacro %}

{#
  dim_customer and rpt_customer_register, per customer. A customer's row depends on its DMS record and on the rows of
  the vehicles it owns (owner: int_vehicles_attributed, from the sales orders). The customers a run affects are those
  whose record was staged again, and every customer that any version of a sales order of an affected VIN names: the
  raw export holds every order that ever named the VIN, so both the old owner and the new one of a vehicle that changed
  hands (or whose VIN was corrected) are recomputed. Customers never leave the register (a batch held after it reached
  the marts requests a full rebuild), so rows are only replaced. Each model passes the VINs its own rows depend on.
#}
{% macro customers_of_changed_records_or_vins(vins) -%}
    select customers.customer_id
    from {{ ref('stg_dms__customers') }} as customers
    where {{ is_changed('customers') }}
    union
    select every_version.customer_id
    from raw.dms_sales as every_version
    inner join ({{ vins }}) as affected on every_version.vin = affected.vin
    where every_version.customer_id is not null
{%- endmacro %}

{#
  Whether `day` was in the 12-month window of the model's last build and is not in this run's, or the other way. The
  days that can differ are those between the two dates and between the two dates 12 months back: written as those two
  ranges first, so that an index on `day` serves a one-day move (two days of rows, not the table).
#}
{% macro twelve_month_window_moved_past(day) -%}
    {%- set earlier = 'least(' ~ watermark_as_of() ~ ', ' ~ as_of_date() ~ ')' -%}
    {%- set later = 'greatest(' ~ watermark_as_of() ~ ', ' ~ as_of_date() ~ ')' -%}
    (
        {{ watermark_as_of() }} is distinct from {{ as_of_date() }}
        and (
            {{ day }} > {{ earlier }} and {{ day }} <= {{ later }}
            or {{ day }} > ({{ earlier }} - interval '12 months')::date
            and {{ day }} <= ({{ later }} - interval '12 months')::date
        )
        and {{ in_12_months_to_as_of(day, watermark_as_of()) }}
        is distinct from {{ in_12_months_to_as_of(day) }}
    )
{%- endmacro %}

{# The VINs of the rows of `relation` (meeting `condition`) whose `day` the date moved into or out of the 12 months. #}
{% macro vins_whose_window_moved(relation, day, condition='true') -%}
    select edge.vin
    from {{ relation }} as edge
    where {{ condition }} and {{ twelve_month_window_moved_past('edge.' ~ day) }}
{%- endmacro %}

{#
  The VINs whose rows a customer's register entry reads, changed since the model's last build: every version of the
  policies (premium, the last main policy, pending renewals, the contact staff), of the sales orders (the owner) and
  of the repair orders (service spend, the last visit); dim_customer adds the claims.
#}
{% macro vins_of_customers_rows_changed() -%}
    {{ vins_of_rewritten_policies(every_version=true) }}
    union
    {{ vins_of_changed_sales_orders() }}
    union
    {{ keys_of_every_version(ref('stg_aftersales__repair_orders'), 'aftersales_ro', ['ro_no'], 'vin') }}
{%- endmacro %}

{#
  dim_customer's affected VINs, which rpt_customer_register reads too (its tier and segment columns come from there):
  those whose policies, sales orders, repair orders or claims changed (every version), those with a row the as-of
  date moved into or out of the 12-month window (premium, service spend, claims), and those with a main policy it
  moved past (signed, run out). A row the date alone turns is rewritten under the same ledger_seq when no batch
  arrived, so the register recomputes these VINs itself rather than read dim_customer's changed rows.
#}
{% macro vins_of_customer_segments_changed() -%}
    {{ vins_of_customers_rows_changed() }}
    union
    {{ keys_of_every_version(ref('stg_insurer__claims'), 'insurer_claims', ['claim_no'], 'vin') }}
    union
    {{ vins_whose_window_moved(ref('int_policy_lines_unioned'), 'sign_date') }}
    union
    {{ vins_whose_window_moved(ref('stg_aftersales__repair_orders'), 'opened_date') }}
    union
    {{ vins_whose_window_moved(ref('stg_insurer__claims'), 'reported_at::date') }}
    union
    select policies.vin
    from {{ ref('int_policies_aggregated') }} as policies
    where policies.is_main
        and ({{ as_of_moved_past('policies.sign_date') }} or {{ as_of_moved_past('policies.end_date') }})
{%- endmacro %}

{#
  rpt_customer_register's affected VINs: dim_customer's (vins_of_customer_segments_changed: the tier and segment come
  from there), and the VINs with a renewal due or a repair order opened on a day the as-of date moved past.
#}
{% macro vins_of_register_rows_changed() -%}
    {{ vins_of_customer_segments_changed() }}
    union
    select opportunities.vin
    from {{ ref('int_renewal_opportunities_matched') }} as opportunities
    where {{ as_of_moved_past('opportunities.due_date') }}
    union
    select repair_orders.vin
    from {{ ref('stg_aftersales__repair_orders') }} as repair_orders
    where {{ as_of_moved_past('repair_orders.opened_date') }}
{%- endmacro %}

{# A row of an affected customer: `column` in the model's CTE `affected_customers` (always true on a full build). #}
{% macro is_affected_customer(column) -%}
    {%- if is_incremental() -%}
        {{ column }} in (select affected_customers.customer_id from affected_customers)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
