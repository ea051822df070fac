{{ config(unique_key=['claim_no']) }}

with source as (

    {{ newest_versions(source('insurer', 'insurer_claims')) }}

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
    _batch_id as batch_id,
    ledger_seq
from source
where is_latest
