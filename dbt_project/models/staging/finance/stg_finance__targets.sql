{{ config(unique_key=['target_month', 'store_code', 'staff_id']) }}

with source as (

    {{ newest_versions(source('finance', 'finance_targets')) }}

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
    _batch_id as batch_id,
    ledger_seq
from source
where is_latest
