-- Commission detail (commission and settled commission): finance only.
{{ config(grants={'select': ['finance']}) }}

-- Insurer scorecard per insurer and month (docs: insurer_scorecard): written premium by renewal type, commission and
-- its effective rate, settled commission, renewals of the insurer's expiring policies, claims, 送修率 and
-- retention, earned premium, incurred claims and loss ratio. Months from the first sign month to the as-of month.

with months as (

    select
        insurers.insurer_code,
        month_start::date as month
    from {{ ref('insurers') }} as insurers
    cross join generate_series(
        (select date_trunc('month', min(facts.sign_date)) from {{ ref('fct_policy_transactions') }} as facts),
        date_trunc('month', {{ as_of_date() }}),
        interval '1 month'
    ) as month_start

),

written as (

    select
        insurer_code,
        date_trunc('month', sign_date)::date as month,
        sum(premium) as premium,
        sum(premium) filter (where renewal_type = 'new_car') as premium_new_car,
        sum(premium) filter (where renewal_type = 'renewal') as premium_renewal,
        sum(premium) filter (where renewal_type is null or renewal_type not in ('new_car', 'renewal')) as premium_other,
        sum(commission_amount) as commission_amount
    from {{ ref('fct_policy_transactions') }}
    group by 1, 2

),

main_policies as (

    select
        insurer_code,
        date_trunc('month', sign_date)::date as month,
        count(*) as policies
    from {{ ref('int_policies_aggregated') }}
    where is_main and has_issue
    group by 1, 2

),

settled as (

    select
        insurer_code,
        month,
        sum(settled_commission) as commission_settled
    from {{ ref('fct_commission_settlement') }}
    group by 1, 2

),

renewals as (

    select
        expiring_insurer_code as insurer_code,
        date_trunc('month', due_date)::date as month,
        count(*) as due_count,
        count(*) filter (where outcome = 'renewed_here') as renewed_count,
        count(*) filter (where outcome = 'renewed_here' and renewed_insurer_code = expiring_insurer_code)
            as renewed_same_insurer_count
    from {{ ref('int_renewal_opportunities_matched') }}
    group by 1, 2

),

claims as (

    select
        claim_outcomes.insurer_code,
        date_trunc('month', claim_outcomes.reported_date)::date as month,
        count(*) as claims_count,
        count(*) filter (where stores.store_code is not null) as claims_recommended_here,
        count(*) filter (where claim_outcomes.is_repaired_here) as repaired_here_count,
        sum(coalesce(details.paid_amount, details.estimated_loss, 0)) as incurred_claims
    from {{ ref('int_claims_repair_matched') }} as claim_outcomes
    inner join {{ ref('stg_insurer__claims') }} as details on claim_outcomes.claim_no = details.claim_no
    left join {{ ref('stores') }} as stores on details.recommended_store_code = stores.store_code
    group by 1, 2

),

earned as (

    select
        insurer_code,
        month,
        sum(earned_premium) as earned_premium
    from {{ ref('fct_premium_monthly') }}
    group by 1, 2

)

select
    months.insurer_code,
    months.month,
    coalesce(main_policies.policies, 0)::int as policies,
    coalesce(written.premium, 0)::numeric(14, 2) as premium,
    coalesce(written.premium_new_car, 0)::numeric(14, 2) as premium_new_car,
    coalesce(written.premium_renewal, 0)::numeric(14, 2) as premium_renewal,
    coalesce(written.premium_other, 0)::numeric(14, 2) as premium_other,
    coalesce(written.commission_amount, 0)::numeric(14, 2) as commission_amount,
    round(
        written.commission_amount / nullif(written.premium / (1 + {{ insurance_parameter('premium_vat_rate') }}), 0), 4
    )::numeric(7, 4) as commission_rate_effective,
    coalesce(settled.commission_settled, 0)::numeric(14, 2) as commission_settled,
    coalesce(renewals.due_count, 0)::int as due_count,
    coalesce(renewals.renewed_count, 0)::int as renewed_count,
    coalesce(renewals.renewed_same_insurer_count, 0)::int as renewed_same_insurer_count,
    round(renewals.renewed_count::numeric / nullif(renewals.due_count, 0), 4)::numeric(7, 4) as renewal_rate,
    coalesce(claims.claims_count, 0)::int as claims_count,
    coalesce(claims.claims_recommended_here, 0)::int as claims_recommended_here,
    coalesce(claims.repaired_here_count, 0)::int as repaired_here_count,
    round(claims.claims_recommended_here::numeric / nullif(claims.claims_count, 0), 4)::numeric(7, 4)
        as recommend_rate,
    round(claims.repaired_here_count::numeric / nullif(claims.claims_count, 0), 4)::numeric(7, 4) as retention_rate,
    coalesce(earned.earned_premium, 0)::numeric(14, 2) as earned_premium,
    coalesce(claims.incurred_claims, 0)::numeric(14, 2) as incurred_claims,
    round(coalesce(claims.incurred_claims, 0) / nullif(earned.earned_premium, 0), 4)::numeric(9, 4) as loss_ratio
from months
left join written on months.insurer_code = written.insurer_code and months.month = written.month
left join main_policies on months.insurer_code = main_policies.insurer_code and months.month = main_policies.month
left join settled on months.insurer_code = settled.insurer_code and months.month = settled.month
left join renewals on months.insurer_code = renewals.insurer_code and months.month = renewals.month
left join claims on months.insurer_code = claims.insurer_code and months.month = claims.month
left join earned on months.insurer_code = earned.insurer_code and months.month = earned.month
