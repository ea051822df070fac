{{
    config(
        materialized='incremental',
        unique_key=['insurer_code', 'policy_no', 'txn_no'],
        grants={'select': ['finance']},
        post_hook=["{{ record_watermark() }}", "{{ grant_without_commission('bi_reader') }}",
                   "{{ store_row_security() }}"]
    )
}}

-- Kimball's insurance transaction fact: every issue, endorsement and cancellation of every policy the
-- group sold, per coverage, as signed rows (never updates). Premium includes VAT; vehicle tax is
-- separate and earns no commission; commission is per coverage line (macro commission_amount).
-- Incremental: a daily run rewrites only the transactions whose lines changed (see macros/incremental.sql).

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
-- Only transactions whose lines changed since the last build (new, corrected, released), with all their lines.
where (lines.insurer_code, lines.policy_no, lines.txn_no) in (
    select changed.insurer_code, changed.policy_no, changed.txn_no
    from {{ ref('int_policy_lines_unioned') }} as changed
    where {{ is_changed('changed') }}
)
{% endif %}
group by
    lines.policy_no, lines.txn_no, lines.txn_type, lines.coverage_code, lines.insurer_code, lines.store_code,
    lines.staff_id, lines.vin, lines.sign_date, lines.start_date, lines.end_date
