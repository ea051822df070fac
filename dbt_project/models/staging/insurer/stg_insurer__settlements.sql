{{ config(unique_key=['statement_no', 'policy_no', 'endorsement_no', 'policy_class']) }}

-- Commission statement rows: a re-issued statement (same 结算单号, later file) replaces its rows.

with source as (

    {{ newest_versions(source('insurer', 'insurer_settlements')) }}

)

select
    statement_no,
    insurer_code,
    settlement_month,
    policy_no,
    endorsement_no,
    policy_class,
    premium,
    commission_rate,
    commission_amount,
    settlement_status,
    note,
    _export_date as exported_on,
    _batch_id as batch_id,
    ledger_seq
from source
where is_latest
