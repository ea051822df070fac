-- 续保漏斗 per store, assignee (empty string for the store team) and due month (docs block renewal_funnel): due,
-- contacted, effectively contacted (未接通 does not count), effectively contacted by due − 30 and by due − 15,
-- quoted, renewed here, lost, pending, the rates (each ÷ due), the 续保率目标 of finance_targets and lost premium.
with opportunities as (

    select
        store_code,
        coalesce(assigned_staff_id, '') as staff_id,
        date_trunc('month', due_date)::date as due_month,
        outcome,
        first_contact_date,
        effective_contact_date,
        due_date - effective_contact_date as effective_contact_lead_days,
        has_quote,
        expiring_premium
    from {{ ref('int_renewal_opportunities_matched') }}

),

targets as (

    select
        target_month,
        store_code,
        coalesce(staff_id, '') as staff_id,
        renewal_rate_target
    from {{ ref('stg_finance__targets') }}

)

select
    opportunities.store_code,
    opportunities.staff_id,
    opportunities.due_month,
    count(*)::int as due_count,
    count(opportunities.first_contact_date)::int as contacted_count,
    count(opportunities.effective_contact_date)::int as effective_contact_count,
    count(*) filter (
        where opportunities.effective_contact_lead_days >= {{ insurance_parameter('funnel_early_contact_days') }}::int
    )::int as contacted_by_30_count,
    count(*) filter (
        where opportunities.effective_contact_lead_days >= {{ insurance_parameter('funnel_late_contact_days') }}::int
    )::int as contacted_by_15_count,
    count(*) filter (where opportunities.has_quote)::int as quoted_count,
    count(*) filter (where opportunities.outcome = 'renewed_here')::int as renewed_count,
    count(*) filter (where opportunities.outcome = 'lost')::int as lost_count,
    count(*) filter (where opportunities.outcome = 'pending')::int as pending_count,
    {{ share("opportunities.outcome = 'renewed_here'") }} as renewal_rate,
    {{ share("opportunities.effective_contact_date is not null") }} as effective_contact_rate,
    {{ share("opportunities.has_quote") }} as quote_rate,
    max(targets.renewal_rate_target)::numeric(9, 4) as renewal_rate_target,
    coalesce(sum(opportunities.expiring_premium) filter (where opportunities.outcome = 'lost'), 0)::numeric(14, 2)
        as lost_premium
from opportunities
left join targets
    on opportunities.due_month = targets.target_month
    and opportunities.store_code = targets.store_code
    and opportunities.staff_id = targets.staff_id
group by opportunities.store_code, opportunities.staff_id, opportunities.due_month
