-- Each car a group store delivered (status 已交车), and whether the group signed a policy for its VIN
-- between delivery − 30 and delivery + 30 days (seed insurance_parameters.new_car_window_days).
with deliveries as (

    select order_no, store_code, vin, delivery_date
    from {{ ref('stg_dms__sales_orders') }}
    where order_status = '已交车' and delivery_date is not null

)

select
    deliveries.order_no,
    deliveries.store_code,
    deliveries.vin,
    deliveries.delivery_date,
    exists (
        select 1
        from {{ ref('int_policies_aggregated') }} as policies
        where policies.vin = deliveries.vin
            and policies.has_issue
            and policies.sign_date between
                deliveries.delivery_date - {{ insurance_parameter('new_car_window_days') }}::int
                and deliveries.delivery_date + {{ insurance_parameter('new_car_window_days') }}::int
    ) as is_insured_here
from deliveries
