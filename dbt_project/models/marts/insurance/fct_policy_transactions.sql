{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['insurer_code', 'policy_no', 'txn_no'],
        on_schema_change='fail',
        grants={'select': ['finance']},
        post_hook=["{{ record_watermark(this.name) }}", "{{ grant_without_commission('bi_reader') }}",
                   "{{ store_row_security() }}"]
    )
}}

-- Kimball's insurance transaction fact: every issue, endorsement and cancellation of every policy the
-- group sold, per coverage, as signed rows (never updates). Premium includes VAT; vehicle tax is
-- separate and earns no commission; commission is per coverage line (macro commission_amount).
-- Incremental: a daily run rewrites only the transactions in new batches (see macros/watermarks.sql).

select
    lines.policy_no,
    lines.txn_no,
    lines.txn_type,
    lines.coverage_code,
    lines.insurer_code,
    lines.store_code,
    lines.staff_id,
    lines.vin,
    lines.sign_date,
    lines.start_date,
    lines.end_date,
    sum(lines.premium)::numeric(14, 2) as premium,
    sum(lines.vehicle_tax)::numeric(14, 2) as vehicle_tax,
    sum({{ commission_amount('lines.premium', 'lines.commission_rate') }})::numeric(14, 2) as commission_amount
from {{ ref('int_policy_lines_unioned') }} as lines
{% if is_incremental() %}
-- Only transactions that a new batch delivered (new, or a corrected re-export), with all their current lines.
where (lines.insurer_code, lines.policy_no, lines.txn_no) in (
    select insurer_code, policy_no, txn_no
    from {{ ref('int_policy_lines_unioned') }}
    where batch_id > {{ watermark(this.name) }}
)
{% endif %}
group by
    lines.policy_no, lines.txn_no, lines.txn_type, lines.coverage_code, lines.insurer_code, lines.store_code,
    lines.staff_id, lines.vin, lines.sign_date, lines.start_date, lines.end_date
