-- 经营日报表: per store and day, from the first policy day to the run's as-of date (days without
-- business included, so month-to-date figures exist for every day).
-- policies = main policies issued − main policies cancelled that day; renewals and new-car policies
-- by renewal type; attainment against the store's monthly premium target.

with facts as (

    select
        facts.*,
        coverages.coverage_class
    from {{ ref('fct_policy_transactions') }} as facts
    inner join {{ ref('dim_coverage') }} as coverages on facts.coverage_code = coverages.coverage_code

),

money as (

    select
        store_code,
        sign_date as business_date,
        sum(premium) as premium,
        sum(premium) filter (where coverage_class = 'commercial') as commercial_premium,
        sum(premium) filter (where coverage_class = 'compulsory') as compulsory_premium,
        sum(commission_amount) as commission_amount
    from facts
    group by store_code, sign_date

),

-- read from money, not from the facts again: the facts are then read once, not written aside for a second reader
calendar as (

    select
        stores.store_code,
        dates.date_day as business_date
    from (
        -- stores with insurance business or targets; a store only named in seed stores has no daily report
        select store_code from money
        union
        select store_code from {{ ref('stg_finance__targets') }}
    ) as stores
    cross join {{ ref('dim_date') }} as dates
    where dates.date_day between (select min(money.business_date) from money) and {{ as_of_date() }}

),

issued as (

    select
        store_code,
        sign_date as business_date,
        count(*) as issued,
        count(*) filter (where renewal_type = 'renewal') as renewals_signed,
        count(*) filter (where renewal_type = 'new_car') as new_car_policies
    from {{ ref('int_main_policies_classified') }}
    group by store_code, sign_date

),

cancelled as (

    select
        store_code,
        cancelled_on as business_date,
        count(*) as cancelled
    from {{ ref('int_policies_aggregated') }}
    where is_main and is_cancelled and has_issue
    group by store_code, cancelled_on

),

targets as (

    select
        store_code,
        target_month,
        premium_target
    from {{ ref('stg_finance__targets') }}
    where staff_id is null

),

daily as (

    select
        calendar.store_code,
        calendar.business_date,
        (coalesce(issued.issued, 0) - coalesce(cancelled.cancelled, 0))::int as policies,
        coalesce(money.premium, 0)::numeric(14, 2) as premium,
        coalesce(money.commercial_premium, 0)::numeric(14, 2) as commercial_premium,
        coalesce(money.compulsory_premium, 0)::numeric(14, 2) as compulsory_premium,
        coalesce(money.commission_amount, 0)::numeric(14, 2) as commission_amount,
        coalesce(issued.renewals_signed, 0)::int as renewals_signed,
        coalesce(issued.new_car_policies, 0)::int as new_car_policies
    from calendar
    left join money
        on calendar.store_code = money.store_code and calendar.business_date = money.business_date
    left join issued
        on calendar.store_code = issued.store_code and calendar.business_date = issued.business_date
    left join cancelled
        on calendar.store_code = cancelled.store_code and calendar.business_date = cancelled.business_date

)

select
    daily.*,
    sum(daily.premium) over (
        partition by daily.store_code, date_trunc('month', daily.business_date)
        order by daily.business_date
    )::numeric(14, 2) as mtd_premium,
    round(
        sum(daily.premium) over (
            partition by daily.store_code, date_trunc('month', daily.business_date)
            order by daily.business_date
        ) / nullif(targets.premium_target, 0),
        4
    )::numeric(9, 4) as mtd_attainment_rate
from daily
left join targets
    on daily.store_code = targets.store_code
    and targets.target_month = date_trunc('month', daily.business_date)::date
