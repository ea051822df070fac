with source as (

    select
        *,
        {{ latest_per_key(['survey_no']) }} as is_latest
    from {{ source('dms', 'dms_surveys') }}
    where {{ from_loaded_batches() }}

)

select
    survey_no,
    survey_date,
    store_code,
    staff_id,
    business_type,
    score,
    complaint,
    _export_date as exported_on,
    _batch_id as batch_id
from source
where is_latest
