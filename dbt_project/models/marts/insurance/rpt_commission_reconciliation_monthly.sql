-- Commission detail: finance only (bi_reader never sees commission amounts).
{{ config(grants={'select': ['finance']}) }}

-- 手续费对账 per insurer and month (sign month; statement month for rows in no export): expected, settled,
-- withheld, difference and the count of each status of fct_commission_settlement.

select
    insurer_code,
    month,
    sum(expected_commission)::numeric(14, 2) as expected_commission,
    sum(settled_commission)::numeric(14, 2) as settled_commission,
    sum(withheld_commission)::numeric(14, 2) as withheld_commission,
    sum(difference)::numeric(14, 2) as difference,
    count(*) filter (where status = 'matched')::int as matched_count,
    count(*) filter (where status = 'rate_mismatch')::int as rate_mismatch_count,
    count(*) filter (where status = 'amount_mismatch')::int as amount_mismatch_count,
    count(*) filter (where status = 'withheld')::int as withheld_count,
    count(*) filter (where status = 'missing')::int as missing_count,
    count(*) filter (where status = 'unsettled')::int as unsettled_count,
    count(*) filter (where status = 'not_in_exports')::int as not_in_exports_count
from {{ ref('fct_commission_settlement') }}
group by insurer_code, month
