-- Repair orders of the after-sales export, newest version of each (macro newest_aftersales_ro: key ro_no).
{{ config(indexes=[{'columns': ['ledger_seq']}, {'columns': ['opened_date']}, {'columns': ['vin']}]) }}
{{ newest_aftersales_ro() }}

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
