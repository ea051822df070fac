with source as (

    select
        *,
        {{ latest_per_key(['claim_no']) }} as is_latest
    from {{ source('insurer', 'insurer_claims') }}
    where {{ from_loaded_batches() }}

)

select
    claim_no,
    policy_no,
    insurer_code,
    plate,
    vin,
    occurred_at,
    reported_at,
    description,
    estimated_loss,
    paid_amount,
    status,
    recommended_store_code,
    _export_date as exported_on,
    _batch_id as batch_id
from source
where is_latest
