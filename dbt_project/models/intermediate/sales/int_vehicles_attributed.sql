-- The DMS sales order that speaks for each VIN: its delivered (已交车) order if it has one, else its latest
-- order. dim_vehicle takes the model and the selling store from it, dim_customer the vehicle's customer.
-- A model of its own so dim_customer does not wait for dim_vehicle's scan of every feed.

select distinct on (vin)
    vin,
    order_no,
    order_status,
    order_date,
    delivery_date,
    store_code,
    customer_id,
    brand,
    series,
    model,
    is_nev
from {{ ref('stg_dms__sales_orders') }}
where vin is not null
order by vin asc, (order_status = {{ delivered_status() }}) desc, order_date desc, order_no desc
