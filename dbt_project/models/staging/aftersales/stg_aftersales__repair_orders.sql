{{ config(unique_key=['ro_no']) }}

with source as (

    {{ newest_versions(source('aftersales', 'aftersales_ro')) }}

)

select
    ro_no,
    store_code,
    vin,
    plate,
    opened_date,
    settled_date,
    ro_type,
    labour_amount,
    parts_amount,
    total_amount,
    advisor_staff_id,
    is_insurance_claim,
    claim_insurer_code,
    claim_no,
    _export_date as exported_on,
    _batch_id as batch_id,
    ledger_seq
from source
where is_latest
