{{
    config(
        materialized='incremental',
        unique_key=['customer_id'],
        indexes=[{'columns': ['ledger_seq']}],
        pre_hook="{{ keep_affected_keys(customers_of_changed_records_or_vins(vins_of_customer_segments_changed())) }}",
        post_hook="{{ record_watermark() }}"
    )
}}

-- depends_on: {{ ref('stg_dms__sales_orders') }}
-- depends_on: {{ ref('stg_insurer_picc__policies') }}
-- depends_on: {{ ref('stg_insurer_paic__policy_lines') }}
-- depends_on: {{ ref('stg_insurer_cpic__policies') }}
-- Customers of the DMS register with their tier and value segment (docs block rule_customer_segments).
-- Spend and claims look back 12 months from the run's as-of date; thresholds live in seed customer_tier_rules.
--
-- Incremental per customer (macros/incremental_customers.sql, customers_of_changed_records_or_vins): a daily run
-- recomputes the customers whose record changed and the owners, old and new, of the VINs whose policies, sales
-- orders, repair orders or claims changed (every version), or that have a row the as-of date moved into or out of
-- the 12 months, or a main policy it moved past (signed, run out).

with
{% if is_incremental() -%}
affected_customers as (

    -- computed in the pre-hook into an analyzed temporary table: a CTE's row estimate (millions for a union of
    -- unions) made the planner scan whole tables for a few thousand customers
    select customer_id from {{ affected_keys() }}

),

{% endif -%}
customers as (

    select * from {{ ref('stg_dms__customers') }}
    where {{ is_affected_customer('customer_id') }}

),

vehicles as (

    select
        vin,
        customer_id
    from {{ ref('int_vehicles_attributed') }}
    where customer_id is not null and {{ is_affected_customer('customer_id') }}

),

premium as (

    select
        vehicles.customer_id,
        sum(policy_lines.premium) as premium_12m
    from {{ ref('int_policy_lines_unioned') }} as policy_lines
    inner join vehicles on policy_lines.vin = vehicles.vin
    where {{ in_12_months_to_as_of('policy_lines.sign_date') }}
    group by vehicles.customer_id

),

service as (

    select
        vehicles.customer_id,
        sum(repair_orders.total_amount) as service_12m
    from {{ ref('stg_aftersales__repair_orders') }} as repair_orders
    inner join vehicles on repair_orders.vin = vehicles.vin
    where {{ in_12_months_to_as_of('repair_orders.opened_date') }}
    group by vehicles.customer_id

),

claims as (

    select
        vehicles.customer_id,
        count(*) as claims_12m
    from {{ ref('stg_insurer__claims') }} as claims
    inner join vehicles on claims.vin = vehicles.vin
    where claims.status <> '注销'
        and {{ in_12_months_to_as_of('claims.reported_at::date') }}
    group by vehicles.customer_id

),

last_main_policy as (

    select distinct on (vehicles.customer_id)
        vehicles.customer_id,
        policies.policy_class,
        policies.end_date
    from {{ ref('int_policies_aggregated') }} as policies
    inner join vehicles on policies.vin = vehicles.vin
    where policies.is_main and policies.sign_date <= {{ as_of_date() }}
    order by vehicles.customer_id asc, policies.sign_date desc, policies.end_date desc, policies.policy_class asc

),

rules as (

    select
        max(value) filter (where parameter = 'tier_a_min_spend') as tier_a_min_spend,
        max(value) filter (where parameter = 'tier_a_max_claims') as tier_a_max_claims,
        max(value) filter (where parameter = 'tier_c_min_claims') as tier_c_min_claims,
        max(value) filter (where parameter = 'tier_c_max_spend') as tier_c_max_spend,
        max(value) filter (where parameter = 'risk_min_claims') as risk_min_claims,
        max(value) filter (where parameter = 'high_value_min_spend') as high_value_min_spend
    from {{ ref('customer_tier_rules') }}

),

measured as (

    select
        customers.customer_id,
        customers.customer_type,
        customers.city,
        customers.store_code,
        customers.phone,
        coalesce(premium.premium_12m, 0) + coalesce(service.service_12m, 0) as spend_12m,
        coalesce(claims.claims_12m, 0) as claims_12m,
        -- serviced here in the 12 months: the customer has a row in `service` (even one whose amounts are empty)
        service.customer_id is not null as services_here,
        last_main_policy.policy_class as last_main_policy_class,
        -- the group's last main policy has run out: the current one is from elsewhere
        last_main_policy.end_date < {{ as_of_date() }} as last_main_policy_expired
    from customers
    left join premium on customers.customer_id = premium.customer_id
    left join service on customers.customer_id = service.customer_id
    left join claims on customers.customer_id = claims.customer_id
    left join last_main_policy on customers.customer_id = last_main_policy.customer_id

)

select
    measured.customer_id,
    case
        when measured.spend_12m >= rules.tier_a_min_spend and measured.claims_12m <= rules.tier_a_max_claims then 'A'
        when measured.claims_12m >= rules.tier_c_min_claims or measured.spend_12m < rules.tier_c_max_spend then 'C'
        else 'B'
    end as tier,
    case
        when measured.claims_12m >= rules.risk_min_claims then 'risk'
        when measured.spend_12m >= rules.high_value_min_spend then 'high_value'
        when measured.services_here
            and (
                measured.last_main_policy_class is null
                or measured.last_main_policy_expired
                or measured.last_main_policy_class = 'compulsory'
            )
            then 'opportunity'
        else 'low_value'
    end as value_segment,
    {{ mask_phone('measured.phone') }} as phone_masked,
    {{ ledger_seq_now() }} as ledger_seq
from measured
cross join rules
