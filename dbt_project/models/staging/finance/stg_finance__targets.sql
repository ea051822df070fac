with source as (

    select
        *,
        {{ latest_per_key(['target_month', 'store_code', 'staff_id']) }} as is_latest
    from {{ source('finance', 'finance_targets') }}
    where {{ from_loaded_batches() }}

)

select
    target_month,
    store_code,
    staff_id,
    premium_target,
    policy_target,
    renewal_rate_target,
    penetration_rate_target,
    retention_rate_target,
    _export_date as exported_on,
    _batch_id as batch_id
from source
where is_latest
