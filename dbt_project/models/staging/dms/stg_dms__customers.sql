with source as (

    select
        *,
        {{ latest_per_key(['customer_id']) }} as is_latest
    from {{ source('dms', 'dms_customers') }}
    where {{ from_loaded_batches() }}

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
    _batch_id as batch_id
from source
where is_latest
