-- Each car a group store delivered (status 已交车), and whether the group signed a policy for its VIN
-- between delivery − 30 and delivery + 30 days (seed insurance_parameters.new_car_window_days).
with deliveries as (

    select
        order_no,
        store_code,
        vin,
        delivery_date
    from {{ ref('int_sales_orders_delivered') }}

),

insured as (

    select distinct deliveries.order_no
    from deliveries
    inner join {{ ref('int_policies_aggregated') }} as policies
        on deliveries.vin = policies.vin
        and {{ signed_within_new_car_window('policies.sign_date', 'deliveries.delivery_date') }}
    where policies.has_issue

)

select
    deliveries.order_no,
    deliveries.store_code,
    deliveries.vin,
    deliveries.delivery_date,
    insured.order_no is not null as is_insured_here
from deliveries
left join insured on deliveries.order_no = insured.order_no
