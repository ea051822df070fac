{{ config(unique_key=['gift_no']) }}

-- Renewal gift packages handed out; a corrected record comes again with the same 发放编号.

with source as (

    {{ newest_versions(source('dms', 'dms_gifts')) }}

)

select
    gift_no,
    handed_out_date,
    store_code,
    vin,
    policy_no,
    package_name,
    gift_cost,
    staff_id,
    _export_date as exported_on,
    _batch_id as batch_id,
    ledger_seq
from source
where is_latest
