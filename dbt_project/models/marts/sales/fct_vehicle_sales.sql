-- New-vehicle sales orders (latest state), with whether a delivered car was insured by the group.
select
    sales.order_no,
    sales.store_code,
    sales.staff_id,
    sales.customer_id,
    sales.vin,
    sales.is_nev,
    sales.list_price,
    sales.deal_price,
    sales.payment_method,
    sales.order_date,
    sales.delivery_date,
    sales.order_status,
    coalesce(insured.is_insured_here, false) as is_insured_here
from {{ ref('stg_dms__sales_orders') }} as sales
left join {{ ref('int_deliveries_insured') }} as insured on sales.order_no = insured.order_no
