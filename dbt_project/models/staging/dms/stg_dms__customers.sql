{{ config(unique_key=['customer_id']) }}

with source as (

    {{ newest_versions(source('dms', 'dms_customers')) }}

)

select
    customer_id,
    customer_name,
    customer_type,
    gender,
    birth_date,
    phone,
    id_number,
    city,
    occupation,
    created_date,
    store_code,
    source,
    _export_date as exported_on,
    _batch_id as batch_id,
    ledger_seq
from source
where is_latest
