with source as (

    select
        *,
        {{ latest_per_key(['order_no']) }} as is_latest
    from {{ source('dms', 'dms_sales') }}
    where {{ from_loaded_batches() }}

)

select
    order_no,
    store_code,
    staff_id,
    customer_id,
    vin,
    brand,
    series,
    model,
    is_nev,
    list_price,
    deal_price,
    payment_method,
    order_date,
    delivery_date,
    order_status,
    _export_date as exported_on,
    _batch_id as batch_id
from source
where is_latest
