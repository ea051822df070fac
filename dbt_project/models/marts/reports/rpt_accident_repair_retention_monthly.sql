-- 事故车留修率 per store (of the policy) and report month: claims repaired at a group store ÷ claims.
select
    store_code,
    date_trunc('month', reported_date)::date as month,
    count(*)::int as claims_count,
    count(*) filter (where is_repaired_here)::int as repaired_here_count,
    {{ share("is_repaired_here") }} as retention_rate
from {{ ref('int_claims_repair_matched') }}
group by store_code, date_trunc('month', reported_date)
