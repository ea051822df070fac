{{ config(unique_key=['lead_no']) }}

with source as (

    {{ newest_versions(source('dms', 'dms_leads')) }}

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
    _batch_id as batch_id,
    ledger_seq
from source
where is_latest
