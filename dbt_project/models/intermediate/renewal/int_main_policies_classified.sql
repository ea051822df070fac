{{
    config(
        materialized='incremental',
        unique_key=['insurer_code', 'policy_no'],
        indexes=[{'columns': ['insurer_code', 'policy_no'], 'unique': true}],
        pre_hook=[
            "{{ keep_affected_keys(main_policies_affected_vins()) }}",
            "{{ delete_rows_of_changed_keys(ref('int_policies_aggregated'), ['insurer_code', 'policy_no'],
                  ['insurer_code', 'policy_no']) }}",
        ],
        post_hook="{{ record_watermark() }}"
    )
}}

-- depends_on: {{ ref('stg_dms__sales_orders') }}
-- The renewal type of every main policy the group issued (docs block rule_renewal_type):
-- renewal (renews an opportunity of the group), new_car (no earlier group policy for the VIN and the
-- group delivered it within 30 days of signing), service_conversion (潜转续: no earlier group policy,
-- but a repair order for the VIN in the 12 months before), transfer_in (anything else).
--
-- Incremental per vehicle (macros/incremental_keys.sql): a daily run classifies again every main policy of the VINs
-- whose policies or renewal opportunities were rewritten, or whose sales orders or repair orders changed (the VIN
-- before and after a correction). The as-of date plays no part.

with
{% if is_incremental() -%}
affected_vins as (

    -- main_policies_affected_vins, computed once in the pre-hook into an analyzed temporary table (keep_affected_keys)
    select vin from {{ affected_keys() }}

),

{% endif -%}
main_policies as (

    select * from {{ ref('int_policies_aggregated') }}
    where is_main and has_issue and {{ is_affected_vin('vin') }}

),

renewed as (

    select distinct
        renewed_insurer_code,
        renewed_policy_no
    from {{ ref('int_renewal_opportunities_matched') }}
    where renewed_policy_no is not null and {{ is_affected_vin('vin') }}

),

deliveries as (

    select
        vin,
        delivery_date,
        store_code
    from {{ ref('int_sales_orders_delivered') }}

),

-- Each condition as the set of policies that meet it: joins on the VIN, never a subquery per policy.
with_earlier_policy as (

    select distinct
        main_policies.insurer_code,
        main_policies.policy_no
    from main_policies
    inner join {{ ref('int_policies_aggregated') }} as earlier_policies
        on main_policies.vin = earlier_policies.vin
        and main_policies.sign_date > earlier_policies.sign_date
        and main_policies.start_date - 30 > earlier_policies.start_date
    where earlier_policies.has_issue

),

delivered_new as (

    select distinct
        main_policies.insurer_code,
        main_policies.policy_no
    from main_policies
    inner join deliveries
        on main_policies.vin = deliveries.vin
        and {{ signed_within_new_car_window('main_policies.sign_date', 'deliveries.delivery_date') }}

),

serviced_before as (

    select distinct
        main_policies.insurer_code,
        main_policies.policy_no
    from main_policies
    inner join {{ ref('stg_aftersales__repair_orders') }} as repair_orders
        on main_policies.vin = repair_orders.vin
        and main_policies.sign_date - interval '12 months' <= repair_orders.opened_date
        and main_policies.sign_date > repair_orders.opened_date

)

select
    main_policies.insurer_code,
    main_policies.policy_no,
    main_policies.vin,
    main_policies.store_code,
    main_policies.staff_id,
    main_policies.sign_date,
    case
        when renewed.renewed_policy_no is not null then 'renewal'
        when with_earlier_policy.policy_no is null and delivered_new.policy_no is not null then 'new_car'
        when with_earlier_policy.policy_no is null and serviced_before.policy_no is not null then 'service_conversion'
        else 'transfer_in'
    end as renewal_type,
    {{ ledger_seq_now() }} as ledger_seq
from main_policies
left join renewed
    on main_policies.insurer_code = renewed.renewed_insurer_code
    and main_policies.policy_no = renewed.renewed_policy_no
left join with_earlier_policy
    on main_policies.insurer_code = with_earlier_policy.insurer_code
    and main_policies.policy_no = with_earlier_policy.policy_no
left join delivered_new
    on main_policies.insurer_code = delivered_new.insurer_code
    and main_policies.policy_no = delivered_new.policy_no
left join serviced_before
    on main_policies.insurer_code = serviced_before.insurer_code
    and main_policies.policy_no = serviced_before.policy_no
