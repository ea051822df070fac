-- 续保率报表: renewal rate per store, due month, insurer, value segment and renewal type of the expiring
-- policy, and the customer's current tier (unknown without one), with the pending count beside it.
select
    opportunities.store_code,
    date_trunc('month', opportunities.due_date)::date as due_month,
    opportunities.expiring_insurer_code as insurer_code,
    coalesce(customers.value_segment, 'unknown') as value_segment,
    coalesce(classified.renewal_type, 'transfer_in') as renewal_type,
    count(*)::int as due_count,
    count(*) filter (where opportunities.outcome = 'renewed_here')::int as renewed_count,
    count(*) filter (where opportunities.outcome = 'lost')::int as lost_count,
    count(*) filter (where opportunities.outcome = 'pending')::int as pending_count,
    {{ share("opportunities.outcome = 'renewed_here'") }}
        as renewal_rate,
    coalesce(customers.tier, 'unknown') as tier
from {{ ref('int_renewal_opportunities_matched') }} as opportunities
left join {{ ref('int_main_policies_classified') }} as classified
    on opportunities.expiring_insurer_code = classified.insurer_code
    and opportunities.expiring_policy_no = classified.policy_no
left join {{ ref('dim_vehicle') }} as vehicles on opportunities.vin = vehicles.vin
left join {{ ref('dim_customer') }} as customers on vehicles.customer_id = customers.customer_id
group by 1, 2, 3, 4, 5, 11
