-- Half-year plan tracking (S0, docs: plan_tracking): per store and ALL, per month, one row per metric with its value,
-- the target band of seed plan_targets and its status (macro plan_status). Months from the first sign month to
-- the as-of month.

with premium_by_store as (

    select
        coalesce(facts.store_code, 'ALL') as store_code,
        date_trunc('month', facts.sign_date)::date as month,
        sum(facts.premium) as premium,
        sum(facts.premium) filter (where facts.renewal_type = 'new_car') as new_car_premium,
        coalesce(sum(facts.premium) filter (where facts.renewal_type = 'renewal'), 0) as renewal_premium,
        sum(facts.premium) filter (where coverages.coverage_group in ('VD', 'TPL')) as high_value_premium,
        sum(facts.premium) filter (where customers.is_organisation) as organisation_premium
    from {{ ref('fct_policy_transactions') }} as facts
    inner join {{ ref('coverages') }} as coverages on facts.coverage_code = coverages.coverage_code
    left join {{ ref('int_policy_customers_classified') }} as customers
        on facts.insurer_code = customers.insurer_code
        and facts.policy_no = customers.policy_no
    where facts.sign_date <= {{ as_of_date() }}
    group by
        grouping sets (
            (facts.store_code, date_trunc('month', facts.sign_date)),
            (date_trunc('month', facts.sign_date))
        )

),

tier_a_renewals as (

    select
        coalesce(opportunities.store_code, 'ALL') as store_code,
        date_trunc('month', opportunities.due_date)::date as month,
        count(*) as due_count,
        count(*) filter (where opportunities.outcome = 'renewed_here') as renewed_count
    from {{ ref('fct_renewal_opportunities') }} as opportunities
    inner join {{ ref('dim_vehicle') }} as vehicles on opportunities.vin = vehicles.vin
    inner join {{ ref('dim_customer') }} as customers on vehicles.customer_id = customers.customer_id
    where customers.tier = 'A'
    group by
        grouping sets (
            (opportunities.store_code, date_trunc('month', opportunities.due_date)),
            (date_trunc('month', opportunities.due_date))
        )

),

penetration as (

    select
        coalesce(store_code, 'ALL') as store_code,
        month,
        sum(cars_insured_here)::numeric / nullif(sum(cars_delivered), 0) as penetration_rate
    from {{ ref('rpt_new_car_penetration_monthly') }}
    group by grouping sets ((store_code, month), (month))

),

values_by_month as (

    select
        premium_by_store.store_code,
        premium_by_store.month,
        coalesce(premium_by_store.new_car_premium, 0) / nullif(premium_by_store.premium, 0) as new_car_premium_share,
        premium_by_store.renewal_premium / nullif(last_month.renewal_premium, 0) - 1 as renewal_premium_growth,
        coalesce(premium_by_store.high_value_premium, 0) / nullif(premium_by_store.premium, 0)
            as high_value_coverage_share,
        coalesce(premium_by_store.organisation_premium, 0) / nullif(premium_by_store.premium, 0)
            as organisation_premium_share,
        tier_a_renewals.renewed_count::numeric / nullif(tier_a_renewals.due_count, 0) as tier_a_renewal_rate,
        penetration.penetration_rate
    from premium_by_store
    left join premium_by_store as last_month
        on premium_by_store.store_code = last_month.store_code
        and premium_by_store.month = (last_month.month + interval '1 month')::date
    left join tier_a_renewals
        on premium_by_store.store_code = tier_a_renewals.store_code
        and premium_by_store.month = tier_a_renewals.month
    left join penetration
        on premium_by_store.store_code = penetration.store_code
        and premium_by_store.month = penetration.month

),

metric_values as (

    select
        values_by_month.store_code,
        values_by_month.month,
        metric.metric,
        metric.value
    from values_by_month
    cross join lateral (
        values
        ('new_car_premium_share', values_by_month.new_car_premium_share),
        ('renewal_premium_growth', values_by_month.renewal_premium_growth),
        ('high_value_coverage_share', values_by_month.high_value_coverage_share),
        ('organisation_premium_share', values_by_month.organisation_premium_share),
        ('tier_a_renewal_rate', values_by_month.tier_a_renewal_rate),
        ('penetration_rate', values_by_month.penetration_rate)
    ) as metric (metric, value)

)

select
    metric_values.store_code,
    metric_values.month,
    metric_values.metric,
    round(metric_values.value, 4)::numeric(9, 4) as value,
    targets.target_low::numeric(7, 4) as target_low,
    targets.target_high::numeric(7, 4) as target_high,
    {{ plan_status('round(metric_values.value, 4)', 'targets.target_low') }} as status
from metric_values
inner join {{ ref('plan_targets') }} as targets on metric_values.metric = targets.metric
