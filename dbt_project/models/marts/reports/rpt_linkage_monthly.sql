-- 联动转化率 per store, month and source department: converted leads ÷ leads registered.
select
    store_code,
    date_trunc('month', lead_date)::date as month,
    source_department,
    count(*)::int as leads,
    count(*) filter (where is_converted)::int as converted,
    {{ share("is_converted") }} as conversion_rate
from {{ ref('int_leads_converted') }}
group by store_code, date_trunc('month', lead_date), source_department
