{{ config(unique_key=['survey_no']) }}

with source as (

    {{ newest_versions(source('dms', 'dms_surveys')) }}

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
    _batch_id as batch_id,
    ledger_seq
from source
where is_latest
