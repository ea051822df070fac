-- 周报 figures per store and for the group ('ALL') per week (Monday start) up to the run's as-of date:
-- premium against the month target pro-rated by days, and the month's renewal, penetration and retention
-- rates (month of the week's Monday). lagging_items lists every metric under its target, with its owner.
with first_day as (

    select min(business_date) as business_date
    from {{ ref('rpt_daily_operations') }}

),

weeks as (

    select distinct dates.week_start
    from {{ ref('dim_date') }} as dates
    cross join first_day
    where dates.date_day between first_day.business_date and {{ as_of_date() }}

),

store_targets as (

    select
        store_code,
        target_month,
        premium_target
    from {{ ref('stg_finance__targets') }}
    where staff_id is null

),

daily as (

    select
        operations.store_code,
        dates.week_start,
        operations.premium,
        store_targets.premium_target / dates.days_in_month as premium_target_day
    from {{ ref('rpt_daily_operations') }} as operations
    inner join {{ ref('dim_date') }} as dates on operations.business_date = dates.date_day
    left join store_targets
        on operations.store_code = store_targets.store_code
        and dates.month_start = store_targets.target_month

),

weekly_premium as (

    select
        store_code,
        week_start,
        sum(premium) as premium,
        sum(premium_target_day) as premium_target
    from daily
    group by grouping sets ((store_code, week_start), (week_start))

),

monthly as (

    select
        renewal.store_code,
        renewal.due_month as month,
        renewal.renewed_count,
        renewal.due_count,
        penetration.cars_insured_here,
        penetration.cars_delivered,
        retention.repaired_here_count,
        retention.claims_count
    from {{ ref('rpt_renewal_rate_monthly') }} as renewal
    full outer join {{ ref('rpt_new_car_penetration_monthly') }} as penetration
        on renewal.store_code = penetration.store_code and renewal.due_month = penetration.month
    full outer join {{ ref('rpt_accident_repair_retention_monthly') }} as retention
        on coalesce(renewal.store_code, penetration.store_code) = retention.store_code
        and coalesce(renewal.due_month, penetration.month) = retention.month

),

monthly_rates as (

    select
        coalesce(store_code, 'ALL') as store_code,
        month,
        sum(renewed_count)::numeric / nullif(sum(due_count), 0) as renewal_rate,
        sum(cars_insured_here)::numeric / nullif(sum(cars_delivered), 0) as penetration_rate,
        sum(repaired_here_count)::numeric / nullif(sum(claims_count), 0) as retention_rate
    from (
        select
            coalesce(store_code, 'ALL') as store_code,
            month,
            renewed_count,
            due_count,
            cars_insured_here,
            cars_delivered,
            repaired_here_count,
            claims_count
        from monthly
        where month is not null
    ) as m
    group by grouping sets ((store_code, month), (month))

),

combined as (

    select
        coalesce(weekly_premium.store_code, 'ALL') as store_code,
        weekly_premium.week_start,
        weekly_premium.premium,
        weekly_premium.premium_target,
        weekly_premium.premium / nullif(weekly_premium.premium_target, 0) as attainment_rate,
        monthly_rates.renewal_rate,
        monthly_rates.penetration_rate,
        monthly_rates.retention_rate,
        rate_targets.renewal_rate_target,
        rate_targets.penetration_rate_target,
        rate_targets.retention_rate_target
    from weekly_premium
    inner join weeks on weekly_premium.week_start = weeks.week_start
    left join monthly_rates
        on coalesce(weekly_premium.store_code, 'ALL') = monthly_rates.store_code
        and date_trunc('month', weekly_premium.week_start)::date = monthly_rates.month
    left join {{ ref('int_store_rate_targets_rolled_up') }} as rate_targets
        on coalesce(weekly_premium.store_code, 'ALL') = rate_targets.store_code
        and date_trunc('month', weekly_premium.week_start)::date = rate_targets.target_month

)

select
    store_code,
    week_start,
    premium::numeric(14, 2) as premium,
    round(premium_target, 2)::numeric(14, 2) as premium_target,
    round(attainment_rate, 4)::numeric(9, 4) as attainment_rate,
    round(renewal_rate, 4)::numeric(9, 4) as renewal_rate,
    round(penetration_rate, 4)::numeric(9, 4) as penetration_rate,
    round(retention_rate, 4)::numeric(9, 4) as retention_rate,
    nullif(
        concat_ws(
            '; ',
            case
                when attainment_rate < 1
                    then '保费达成率 ' || to_char(attainment_rate * 100, 'FM990.0') || '% < 100% (保险部)'
            end,
            case
                when renewal_rate < renewal_rate_target
                    then '续保率 ' || to_char(renewal_rate * 100, 'FM990.0') || '% < '
                        || to_char(renewal_rate_target * 100, 'FM990.0') || '% (保险部)'
            end,
            case
                when penetration_rate < penetration_rate_target
                    then '新保渗透率 ' || to_char(penetration_rate * 100, 'FM990.0') || '% < '
                        || to_char(penetration_rate_target * 100, 'FM990.0') || '% (销售部)'
            end,
            case
                when retention_rate < retention_rate_target
                    then '事故车留修率 ' || to_char(retention_rate * 100, 'FM990.0') || '% < '
                        || to_char(retention_rate_target * 100, 'FM990.0') || '% (售后部)'
            end
        ),
        ''
    ) as lagging_items,
    round(renewal_rate_target, 4)::numeric(9, 4) as renewal_rate_target
from combined
