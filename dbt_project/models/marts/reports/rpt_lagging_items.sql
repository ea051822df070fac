-- Lagging items (滞后项目) as a ledger, per store (and ALL), metric and week: the weekly KPIs against their targets
-- (premium attainment against 100%, the rates against finance_targets; ALL against the stores' average target) and the
-- half-year plan metrics of the week's month against their low end (metric plan_<metric>). An item opens the first
-- week it lags, stays open while it lags, and is resolved the first week it is back on target (macro
-- lagging_item_status). Owner: the employee of seed lagging_item_owners for the store and metric, else the metric's
-- department.

with weekly_values as (

    select
        kpis.store_code,
        kpis.week_start,
        metric.metric,
        metric.value,
        metric.target
    from {{ ref('rpt_weekly_kpis') }} as kpis
    left join {{ ref('int_store_rate_targets_rolled_up') }} as store_targets
        on kpis.store_code = store_targets.store_code
        and date_trunc('month', kpis.week_start)::date = store_targets.target_month
    cross join lateral (
        values
        ('attainment_rate', kpis.attainment_rate, null::numeric),
        ('renewal_rate', kpis.renewal_rate, store_targets.renewal_rate_target),
        ('penetration_rate', kpis.penetration_rate, store_targets.penetration_rate_target),
        ('retention_rate', kpis.retention_rate, store_targets.retention_rate_target)
    ) as metric (metric, value, target)

),

plan_values as (

    -- every week of every plan metric: a week whose month has no value is not lagging (it resolves an open item)
    select
        kpis.store_code,
        kpis.week_start,
        'plan_' || targets.metric as metric,
        plan.value,
        targets.target_low as target,
        targets.owner_department
    from {{ ref('rpt_weekly_kpis') }} as kpis
    cross join {{ ref('plan_targets') }} as targets
    left join {{ ref('rpt_plan_tracking_monthly') }} as plan
        on kpis.store_code = plan.store_code
        and date_trunc('month', kpis.week_start)::date = plan.month
        and targets.metric = plan.metric

),

metric_values as (

    select
        weekly_values.store_code,
        weekly_values.week_start,
        weekly_values.metric,
        weekly_values.value,
        coalesce(weekly_values.target, metrics.default_target) as target,
        metrics.owner_department
    from weekly_values
    inner join {{ ref('lagging_metrics') }} as metrics on weekly_values.metric = metrics.metric
    union all
    select
        plan_values.store_code,
        plan_values.week_start,
        plan_values.metric,
        plan_values.value,
        plan_values.target,
        plan_values.owner_department
    from plan_values

),

flagged as (

    select
        *,
        coalesce(value < target, false) as is_lagging,
        coalesce(
            lag(coalesce(value < target, false)) over (partition by store_code, metric order by week_start), false
        ) as lagged_before
    from metric_values

),

episodes as (

    select
        *,
        -- the number of the lagging spell a week belongs to: it goes up the week an item opens, and a resolving
        -- week keeps the number of the spell it closes
        sum(case when is_lagging and not lagged_before then 1 else 0 end)
            over (partition by store_code, metric order by week_start rows unbounded preceding)
            as episode
    from flagged

),

ledger as (

    select
        *,
        min(week_start) filter (where is_lagging) over (partition by store_code, metric, episode) as opened_week
    from episodes
    where is_lagging or lagged_before

),

due as (

    select
        *,
        (opened_week + 7 * {{ insurance_parameter('lagging_item_due_weeks') }}::int)::date as due_week
    from ledger

)

select
    ledger.store_code,
    ledger.metric,
    ledger.week_start,
    round(ledger.value, 4)::numeric(9, 4) as value,
    round(ledger.target, 4)::numeric(9, 4) as target,
    owners.staff_id as owner_staff_id,
    staff.staff_name as owner_name,
    coalesce(staff.department, ledger.owner_department) as owner_department,
    ledger.opened_week,
    ledger.due_week,
    ((ledger.week_start - ledger.opened_week) / 7 + case when ledger.is_lagging then 1 else 0 end)::int as weeks_open,
    {{ lagging_item_status('ledger.is_lagging', 'ledger.week_start', 'ledger.opened_week', 'ledger.due_week') }}
        as status
from due as ledger
left join {{ ref('lagging_item_owners') }} as owners
    on ledger.store_code = owners.store_code
    and ledger.metric = owners.metric
left join {{ ref('stg_dms__staff') }} as staff on owners.staff_id = staff.staff_id
