-- 新保渗透率 per store and delivery month: delivered cars insured by the group ÷ the store's deliveries.
-- The denominator is deliveries, never policies, so the rate cannot exceed 100%.
select
    store_code,
    date_trunc('month', delivery_date)::date as month,
    count(*)::int as cars_delivered,
    count(*) filter (where is_insured_here)::int as cars_insured_here,
    {{ share("is_insured_here") }} as penetration_rate
from {{ ref('int_deliveries_insured') }}
group by store_code, date_trunc('month', delivery_date)
