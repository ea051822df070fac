with source as (

    select
        *,
        {{ latest_per_key(['staff_id']) }} as is_latest
    from {{ source('dms', 'dms_staff') }}
    where {{ from_loaded_batches() }}

)

select
    staff_id,
    staff_name,
    store_code,
    department,
    position,
    hired_date,
    left_date,
    _export_date as exported_on,
    _batch_id as batch_id
from source
where is_latest
