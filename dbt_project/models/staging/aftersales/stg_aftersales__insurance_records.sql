-- The optional insurance columns of the same export (保险到期日, 承保公司), on the newest version of each repair order.
{{ config(indexes=[{'columns': ['ledger_seq']}, {'columns': ['opened_date']}]) }}
{{ newest_aftersales_ro() }}

select
    ro_no,
    store_code,
    vin,
    opened_date,
    advisor_staff_id,
    insurance_expiry_text,
    {{ export_date_from_text('insurance_expiry_text') }} as insurance_expiry_date,
    insurer_named,
    _source_file as source_file,
    _row_number as source_row_number,
    _export_date as exported_on,
    _batch_id as batch_id,
    ledger_seq
from source
where (insurance_expiry_text is not null or insurer_named is not null)
