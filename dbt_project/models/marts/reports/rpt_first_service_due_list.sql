-- 首保提醒 (docs block first_service_reminders): cars delivered by a group store with no 首保 repair order yet, listed
-- from 30 days before their first-service due date (delivery + 90 days) to 30 days after it, with the contact dates
-- at 30, 15 and 3 days before it (seed first_service_windows), for the store's after-sales team.
with deliveries as (

    select distinct on (vin)
        vin,
        store_code,
        staff_id,
        customer_id,
        delivery_date,
        delivery_date + {{ insurance_parameter('first_service_due_days') }}::int as first_service_due_date
    from {{ ref('int_sales_orders_delivered') }}
    where delivery_date <= {{ as_of_date() }}
    order by vin asc, delivery_date desc, order_no desc

),

first_serviced as (

    select distinct vin
    from {{ ref('stg_aftersales__repair_orders') }}
    where ro_type = '首保' and opened_date <= {{ as_of_date() }}

),

windows as (

    select
        max(window_days) as first_days,
        (array_agg(window_days order by window_days desc))[2] as second_days,
        min(window_days) as last_days
    from {{ ref('first_service_windows') }}

)

select
    deliveries.vin,
    deliveries.store_code,
    deliveries.delivery_date,
    deliveries.first_service_due_date,
    deliveries.first_service_due_date - {{ as_of_date() }} as days_to_due,
    (
        select min(first_service_windows.window_days)
        from {{ ref('first_service_windows') }} as first_service_windows
        where
            first_service_windows.window_days >= deliveries.first_service_due_date - {{ as_of_date() }}
            and deliveries.first_service_due_date >= {{ as_of_date() }}
    ) as contact_window_days,
    deliveries.first_service_due_date - windows.first_days as contact_30_date,
    deliveries.first_service_due_date - windows.second_days as contact_15_date,
    deliveries.first_service_due_date - windows.last_days as contact_3_date,
    deliveries.staff_id as sales_consultant_staff_id,
    deliveries.customer_id,
    deliveries.store_code || ' 售后部' as assigned_team
from deliveries
cross join windows
left join first_serviced on deliveries.vin = first_serviced.vin
where
    first_serviced.vin is null
    and {{ as_of_date() }} between
    deliveries.first_service_due_date - {{ insurance_parameter('first_service_list_before_days') }}::int
    and deliveries.first_service_due_date + {{ insurance_parameter('first_service_list_after_days') }}::int
