-- 流失客户分析: lost renewal opportunities per store, due month, lost reason and value segment of the
-- vehicle's customer ('unknown' when the group never sold the car). churn_rate = lost / (renewed_here + lost)
-- within the store, due month and segment, so the reasons of one segment add up to its churn rate.
with opportunities as (

    select
        opportunities.store_code,
        date_trunc('month', opportunities.due_date)::date as month,
        opportunities.outcome,
        opportunities.lost_reason,
        opportunities.won_back_date,
        coalesce(customers.value_segment, 'unknown') as value_segment
    from {{ ref('fct_renewal_opportunities') }} as opportunities
    left join {{ ref('dim_vehicle') }} as vehicles on opportunities.vin = vehicles.vin
    left join {{ ref('dim_customer') }} as customers on vehicles.customer_id = customers.customer_id
    where opportunities.outcome in ('renewed_here', 'lost')

),

decided as (

    select
        store_code,
        month,
        value_segment,
        count(*) as decided_count
    from opportunities
    group by store_code, month, value_segment

)

select
    opportunities.store_code,
    opportunities.month,
    opportunities.lost_reason,
    opportunities.value_segment,
    count(*)::int as lost_count,
    round(count(*)::numeric / decided.decided_count, 4)::numeric(9, 4) as churn_rate,
    count(opportunities.won_back_date)::int as won_back_count
from opportunities
inner join decided
    on opportunities.store_code = decided.store_code
    and opportunities.month = decided.month
    and opportunities.value_segment = decided.value_segment
where opportunities.outcome = 'lost'
group by
    opportunities.store_code,
    opportunities.month,
    opportunities.lost_reason,
    opportunities.value_segment,
    decided.decided_count
