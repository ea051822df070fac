{{ config(unique_key=['policy_no', 'endorsement_no', 'coverage_name']) }}

with source as (

    {{ newest_versions(source('insurer', 'insurer_paic')) }}

)

select
    policy_no,
    endorsement_no,
    business_type,
    product,
    coverage_name,
    sum_insured,
    premium,
    vehicle_tax,
    sign_date,
    start_date,
    end_date,
    plate,
    vin,
    engine_no,
    insured_name,
    insured_id_number,
    insured_phone,
    commission_rate,
    staff_id,
    store_code,
    _export_date as exported_on,
    _batch_id as batch_id,
    ledger_seq
from source
where is_latest
