{{ config(unique_key=['staff_id']) }}

with source as (

    {{ newest_versions(source('dms', 'dms_staff')) }}

)

select
    staff_id,
    staff_name,
    store_code,
    department,
    position,
    hired_date,
    left_date,
    _export_date as exported_on,
    _batch_id as batch_id,
    ledger_seq
from source
where is_latest
