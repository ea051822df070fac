-- 续保率 per store and due month = renewed_here / all opportunities due in the month (pending in the base).
select
    store_code,
    date_trunc('month', due_date)::date as due_month,
    count(*)::int as due_count,
    count(*) filter (where outcome = 'renewed_here')::int as renewed_count,
    count(*) filter (where outcome = 'lost')::int as lost_count,
    count(*) filter (where outcome = 'pending')::int as pending_count,
    {{ share("outcome = 'renewed_here'") }} as renewal_rate,
    count(*) filter (where outcome = 'renewed_here' and renewal_lag_days <= 0)::int as renewed_before_due_count
from {{ ref('fct_renewal_opportunities') }}
group by store_code, date_trunc('month', due_date)
