with source as (

    select
        *,
        {{ latest_per_key(['record_no']) }} as is_latest
    from {{ source('dms', 'dms_followups') }}
    where {{ from_loaded_batches() }}

)

select
    record_no,
    vin,
    policy_no,
    followup_date,
    channel,
    staff_id,
    result,
    lost_reason,
    quoted_amount,
    _export_date as exported_on,
    _batch_id as batch_id
from source
where is_latest
