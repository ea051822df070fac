-- The renewal type of every main policy the group issued (specs/metrics.md, Renewal type):
-- renewal (renews an opportunity of the group), new_car (no earlier group policy for the VIN and the
-- group delivered it within 30 days of signing), service_conversion (潜转续: no earlier group policy,
-- but a repair order for the VIN in the 12 months before), transfer_in (anything else).

with main_policies as (

    select * from {{ ref('int_policies_aggregated') }}
    where is_main and has_issue

),

renewed as (

    select distinct renewed_insurer_code, renewed_policy_no
    from {{ ref('int_renewal_opportunities_matched') }}
    where renewed_policy_no is not null

),

deliveries as (

    select vin, delivery_date, store_code
    from {{ ref('stg_dms__sales_orders') }}
    where order_status = '已交车' and delivery_date is not null

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
        when earlier.policy_no is null and exists (
            select 1 from deliveries
            where deliveries.vin = main_policies.vin
                and deliveries.delivery_date between
                    main_policies.sign_date - {{ insurance_parameter('new_car_window_days') }}::int
                    and main_policies.sign_date + {{ insurance_parameter('new_car_window_days') }}::int
        ) then 'new_car'
        when earlier.policy_no is null and exists (
            select 1 from {{ ref('stg_aftersales__repair_orders') }} as repair_orders
            where repair_orders.vin = main_policies.vin
                and repair_orders.opened_date >= main_policies.sign_date - interval '12 months'
                and repair_orders.opened_date < main_policies.sign_date
        ) then 'service_conversion'
        else 'transfer_in'
    end as renewal_type
from main_policies
left join renewed
    on renewed.renewed_insurer_code = main_policies.insurer_code
    and renewed.renewed_policy_no = main_policies.policy_no
left join lateral (
    select earlier_policies.policy_no
    from {{ ref('int_policies_aggregated') }} as earlier_policies
    where earlier_policies.vin = main_policies.vin
        and earlier_policies.has_issue
        and earlier_policies.sign_date < main_policies.sign_date
        and earlier_policies.start_date < main_policies.start_date - 30
    limit 1
) as earlier on true
