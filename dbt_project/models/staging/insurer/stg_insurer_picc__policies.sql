{{ config(unique_key=['policy_no', 'endorsement_no']) }}

with source as (

    {{ newest_versions(source('insurer', 'insurer_picc')) }}

)

select
    policy_no,
    endorsement_no,
    change_type,
    policy_class,
    coverage_detail,
    sign_date,
    start_date,
    end_date,
    plate,
    vin,
    insured_name,
    insured_id_number,
    insured_phone,
    premium,
    vehicle_tax,
    commission_rate,
    staff_id,
    store_code,
    previous_policy_no,
    _export_date as exported_on,
    _batch_id as batch_id,
    ledger_seq
from source
where is_latest
