-- Kimball's insurance transaction fact: every issue, endorsement and cancellation of every policy the
-- group sold, per coverage, as signed rows (never updates). Premium includes VAT; vehicle tax is
-- separate and earns no commission; commission is per coverage line (macro commission_amount).

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
group by
    lines.policy_no, lines.txn_no, lines.txn_type, lines.coverage_code, lines.insurer_code, lines.store_code,
    lines.staff_id, lines.vin, lines.sign_date, lines.start_date, lines.end_date
