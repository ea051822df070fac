{{ config(unique_key=['order_no']) }}

with source as (

    {{ newest_versions(source('dms', 'dms_sales')) }}

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
    _batch_id as batch_id,
    ledger_seq
from source
where is_latest
