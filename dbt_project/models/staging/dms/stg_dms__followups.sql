{{ config(unique_key=['record_no'], indexes=[{'columns': ['ledger_seq']}, {'columns': ['followup_date']}]) }}

with source as (

    {{ newest_versions(source('dms', 'dms_followups')) }}

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
    _batch_id as batch_id,
    ledger_seq
from source
where is_latest
