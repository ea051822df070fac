-- The delivered sales orders (订单状态 已交车, macro delivered_status) with their delivery date: the one home of
-- "delivered" for new-car penetration, renewal types, the renewal pool and first-service reminders.
select
    order_no,
    vin,
    store_code,
    staff_id,
    customer_id,
    order_date,
    delivery_date
from {{ ref('stg_dms__sales_orders') }}
where order_status = {{ delivered_status() }} and delivery_date is not null
