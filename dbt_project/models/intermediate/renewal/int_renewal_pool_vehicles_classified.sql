{{
    config(
        materialized='incremental',
        unique_key=['vin'],
        indexes=[{'columns': ['vin'], 'unique': true}],
        pre_hook="{{ keep_affected_keys(renewal_pool_affected_vins()) }}",
        post_hook=[
            "{{ record_watermark() }}",
            "{{ delete_tombstones('pool_type') }}",
        ]
    )
}}

-- depends_on: {{ ref('stg_insurer_picc__policies') }}
-- depends_on: {{ ref('stg_insurer_paic__policy_lines') }}
-- depends_on: {{ ref('stg_insurer_cpic__policies') }}
-- depends_on: {{ ref('stg_dms__sales_orders') }}
-- The renewal pool (续保池) as of the run's date: one row per vehicle the group can still win, first match wins
-- (docs block renewal_pool): 1 group_renewal (latest opportunity pending), 2 lapsed (latest opportunity lost in
-- the last 365 days, no group main policy since), 3 sold_not_insured (delivered here, never a group policy),
-- 4 serviced_not_insured (serviced here in the last 365 days, no group main policy in force). Store and
-- candidate assignee per type; whoever is no longer employed on the as-of date gives way to the store team.
--
-- Incremental per vehicle (macros/incremental_keys.sql, docs block renewal_pool_incremental): a daily run classifies
-- again the VINs whose inputs changed (policies rewritten, old and new VIN of a corrected policy; opportunities
-- rewritten; sales orders, repair orders and their recorded expiries in every version; the candidate's staff record)
-- and the VINs whose row the as-of date changed since the last build: an opportunity turned lost (due + 30) or left
-- the lapsed window (due + 365), a delivery, repair order or recorded expiry on the days passed, a repair order left
-- the 365-day lookback, a main policy came into or went out of force, a computed due date moved on a term, the
-- candidate was hired or left. A vehicle that left the pool gets a row with only its VIN, which replaces its old row
-- and is then deleted (delete_tombstones). Days to the due date are counted in fct_renewal_pool, which is rebuilt
-- whole every day anyway: kept here, the date would move them under every row.
with
{% if is_incremental() -%}
affected_vins as (

    -- computed once in the pre-hook (macros/incremental_keys.sql, renewal_pool_affected_vins) into an analyzed
    -- temporary table: a CTE's row estimate made the planner scan whole tables for a few thousand vehicles
    select vin from {{ affected_keys() }}

),

{% endif -%}
latest_opportunities as (

    select distinct on (vin) *
    from {{ ref('int_renewal_opportunities_matched') }}
    where {{ is_affected_vin('vin') }}
    order by vin asc, due_date desc, expiring_insurer_code asc, expiring_policy_no asc

),

main_policies as (

    select
        vin,
        sign_date,
        start_date,
        end_date,
        is_cancelled
    from {{ ref('int_policies_aggregated') }}
    where is_main and has_issue and {{ is_affected_vin('vin') }}

),

signed_after_lost as (

    select distinct latest_opportunities.vin
    from latest_opportunities
    inner join main_policies
        on latest_opportunities.vin = main_policies.vin
        and latest_opportunities.due_date < main_policies.sign_date
    where latest_opportunities.outcome = 'lost'

),

opportunity_candidates as (

    select
        latest_opportunities.vin,
        case latest_opportunities.outcome when 'pending' then 'group_renewal' else 'lapsed' end as pool_type,
        case latest_opportunities.outcome when 'pending' then 1 else 2 end as pool_rank,
        latest_opportunities.store_code,
        latest_opportunities.due_date,
        latest_opportunities.staff_id as candidate_staff_id,
        'seller' as candidate_reason,
        latest_opportunities.expiring_insurer_code,
        latest_opportunities.expiring_policy_no,
        latest_opportunities.expiring_premium,
        latest_opportunities.expiring_commercial_premium
    from latest_opportunities
    left join signed_after_lost on latest_opportunities.vin = signed_after_lost.vin
    where
        latest_opportunities.outcome = 'pending'
        or (
            latest_opportunities.outcome = 'lost'
            and latest_opportunities.due_date >= {{ as_of_date() }} - {{ insurance_parameter('lapsed_pool_days') }}::int
            and signed_after_lost.vin is null
        )

),

group_policy_vins as (

    select distinct vin from {{ ref('int_policies_aggregated') }}
    where {{ is_affected_vin('vin') }}

),

latest_deliveries as (

    select distinct on (vin)
        vin,
        store_code,
        staff_id,
        delivery_date
    from {{ ref('int_sales_orders_delivered') }}
    where delivery_date <= {{ as_of_date() }} and {{ is_affected_vin('vin') }}
    order by vin asc, delivery_date desc, order_no desc

),

sold_not_insured as (

    select
        latest_deliveries.vin,
        'sold_not_insured' as pool_type,
        3 as pool_rank,
        latest_deliveries.store_code,
        {{ next_term_end_on_or_after(
            'latest_deliveries.delivery_date',
            "(" ~ as_of_date() ~ " - " ~ insurance_parameter('pool_grace_days') ~ "::int)",
            insurance_parameter('policy_term_years') ~ '::int'
        ) }} as due_date,
        latest_deliveries.staff_id as candidate_staff_id,
        'sales_consultant' as candidate_reason,
        null as expiring_insurer_code,
        null as expiring_policy_no,
        null::numeric as expiring_premium,
        null::numeric as expiring_commercial_premium
    from latest_deliveries
    left join group_policy_vins on latest_deliveries.vin = group_policy_vins.vin
    where group_policy_vins.vin is null

),

latest_repair_orders as (

    select distinct on (vin)
        vin,
        store_code,
        advisor_staff_id
    from {{ ref('stg_aftersales__repair_orders') }}
    where
        opened_date > {{ as_of_date() }} - {{ insurance_parameter('serviced_lookback_days') }}::int
        and opened_date <= {{ as_of_date() }}
        and {{ is_affected_vin('vin') }}
    order by vin asc, opened_date desc, ro_no desc

),

recorded_expiries as (

    select distinct on (vin)
        vin,
        insurance_expiry_date
    from {{ ref('stg_aftersales__insurance_records') }}
    where insurance_expiry_date is not null and opened_date <= {{ as_of_date() }} and {{ is_affected_vin('vin') }}
    order by vin asc, opened_date desc, ro_no desc

),

in_force_vins as (

    select distinct vin
    from main_policies
    where not is_cancelled and {{ as_of_date() }} between start_date and end_date

),

serviced_not_insured as (

    select
        latest_repair_orders.vin,
        'serviced_not_insured' as pool_type,
        4 as pool_rank,
        latest_repair_orders.store_code,
        {{ expiry_moved_on(
            'recorded_expiries.insurance_expiry_date',
            "(" ~ as_of_date() ~ " - " ~ insurance_parameter('pool_grace_days') ~ "::int)",
            insurance_parameter('policy_term_years') ~ '::int'
        ) }} as due_date,
        latest_repair_orders.advisor_staff_id as candidate_staff_id,
        'service_advisor' as candidate_reason,
        null as expiring_insurer_code,
        null as expiring_policy_no,
        null::numeric as expiring_premium,
        null::numeric as expiring_commercial_premium
    from latest_repair_orders
    left join recorded_expiries on latest_repair_orders.vin = recorded_expiries.vin
    left join in_force_vins on latest_repair_orders.vin = in_force_vins.vin
    where in_force_vins.vin is null

),

candidates as (

    select * from opportunity_candidates
    union all
    select * from sold_not_insured
    union all
    select * from serviced_not_insured

),

pool as (

    select distinct on (vin) *
    from candidates
    order by vin asc, pool_rank asc

)

select
    pool.vin,
    pool.pool_type,
    pool.store_code,
    pool.due_date,
    pool.candidate_staff_id,
    case when {{ employed_on('staff', as_of_date()) }} then pool.candidate_staff_id end as assigned_staff_id,
    case when {{ employed_on('staff', as_of_date()) }} then pool.candidate_reason else 'store_team' end
        as assignment_reason,
    pool.expiring_insurer_code,
    pool.expiring_policy_no,
    pool.expiring_premium,
    pool.expiring_commercial_premium,
    {{ ledger_seq_now() }} as ledger_seq
from pool
left join {{ ref('stg_dms__staff') }} as staff on pool.candidate_staff_id = staff.staff_id
{%- if is_incremental() %}
union all
-- an affected vehicle that left the pool: its VIN alone, to replace its old row (deleted by delete_tombstones)
{{ rows_of_leaving_vins('pool') }}
{%- endif %}
