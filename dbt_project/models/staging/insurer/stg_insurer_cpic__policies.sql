{{ config(unique_key=['policy_no', 'endorsement_no']) }}

with source as (

    {{ newest_versions(source('insurer', 'insurer_cpic')) }}

)

select
    policy_no,
    endorsement_no,
    txn,
    ctp_premium,
    vd_premium,
    tpl_premium,
    seat_premium,
    rider_premium,
    vehicle_tax,
    commission_rate,
    sign_date,
    start_date,
    end_date,
    plate,
    vin,
    insured_name,
    insured_id_number,
    insured_phone,
    staff_id,
    store_code,
    _export_date as exported_on,
    _batch_id as batch_id,
    ledger_seq
from source
where is_latest
