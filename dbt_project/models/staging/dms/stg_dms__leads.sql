with source as (

    select
        *,
        {{ latest_per_key(['lead_no']) }} as is_latest
    from {{ source('dms', 'dms_leads') }}
    where {{ from_loaded_batches() }}

)

select
    lead_no,
    lead_date,
    store_code,
    source_department,
    referrer_staff_id,
    vin,
    customer_id,
    wanted_coverage,
    note,
    _export_date as exported_on,
    _batch_id as batch_id
from source
where is_latest
