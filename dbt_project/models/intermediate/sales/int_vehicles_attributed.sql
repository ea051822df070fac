{{
    config(
        materialized='incremental',
        unique_key=['vin'],
        indexes=[{'columns': ['vin'], 'unique': true}, {'columns': ['ledger_seq']}],
        pre_hook=[
            "{{ keep_affected_keys(vins_of_changed_sales_orders()) }}",
            "{{ delete_rows_with_keys(['vin'], 'select vin from ' ~ affected_keys()) }}",
        ],
        post_hook="{{ record_watermark() }}"
    )
}}

-- The DMS sales order that speaks for each VIN: its delivered (已交车) order if it has one, else its latest
-- order. dim_vehicle takes the model and the selling store from it, dim_customer the vehicle's customer.
-- A model of its own so dim_customer does not wait for dim_vehicle's scan of every feed.
--
-- Incremental per VIN (macros/incremental_customers.sql): a row depends only on the sales orders of its VIN, so a
-- daily run recomputes the VINs of the orders staged since its last build, in every version the raw export holds (a
-- corrected VIN moves an order: the old VIN is recomputed too, and leaves when no order names it any more), and
-- stamps ledger_seq on every row it writes: an owner change is a row above the watermark for the models downstream.

select distinct on (sales_orders.vin)
    sales_orders.vin,
    sales_orders.order_no,
    sales_orders.order_status,
    sales_orders.order_date,
    sales_orders.delivery_date,
    sales_orders.store_code,
    sales_orders.customer_id,
    sales_orders.brand,
    sales_orders.series,
    sales_orders.model,
    sales_orders.is_nev,
    {{ ledger_seq_now() }} as ledger_seq
from {{ ref('stg_dms__sales_orders') }} as sales_orders
where
    sales_orders.vin is not null
{% if is_incremental() -%}
    and sales_orders.vin in (select affected.vin from {{ affected_keys() }} as affected)
{% endif -%}
order by
    sales_orders.vin asc,
    (sales_orders.order_status = {{ delivered_status() }}) desc,
    sales_orders.order_date desc,
    sales_orders.order_no desc
