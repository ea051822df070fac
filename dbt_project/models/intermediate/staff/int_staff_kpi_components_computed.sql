-- Everything the staff KPI and pay need, per employee (the seller on the policy) and month of the sign date
-- of each transaction. Weights and caps: seed kpi_weights; bonus tiers: seed bonus_tiers.
-- A missing target gives its KPI part 0 and sets the flag beside it.

with coverage_lines as (

    select
        policy_lines.*,
        coverages.coverage_class
    from {{ ref('int_policy_lines_unioned') }} as policy_lines
    inner join {{ ref('coverages') }} as coverages on policy_lines.coverage_code = coverages.coverage_code
    where policy_lines.sign_date <= {{ as_of_date() }}

),

-- per employee, month and store: one hashed pass over the lines into a few thousand groups (mode() over the lines
-- themselves sorted every line of the history on each build)
store_lines as (

    select
        staff_id,
        date_trunc('month', sign_date)::date as month,
        store_code,
        sum(premium) as premium,
        count(*) as line_count
    from coverage_lines
    group by staff_id, date_trunc('month', sign_date), store_code

),

premium as (

    select
        staff_id,
        month,
        sum(premium) as premium,
        -- the store of most of the month's lines, the lowest code of a tie (what mode() gives; it ignores nulls)
        (array_agg(store_code order by line_count desc, store_code asc) filter (where store_code is not null))[1]
            as store_code
    from store_lines
    group by staff_id, month

),

main_policies as (

    select * from {{ ref('int_policies_aggregated') }}
    where is_main and has_issue

),

policies as (

    select
        signed_or_cancelled.staff_id,
        signed_or_cancelled.month,
        sum(signed_or_cancelled.policy_count)::int as policies_signed
    from (
        select
            staff_id,
            date_trunc('month', sign_date)::date as month,
            1 as policy_count
        from main_policies
        union all
        select
            staff_id,
            date_trunc('month', cancelled_on)::date as month,
            -1 as policy_count
        from main_policies
        where is_cancelled
    ) as signed_or_cancelled
    where signed_or_cancelled.month <= {{ as_of_date() }}
    group by signed_or_cancelled.staff_id, signed_or_cancelled.month

),

high_value as (

    select
        staff_id,
        date_trunc('month', sign_date)::date as month,
        avg(case when has_vd_and_tpl then 1 else 0 end) as high_value_mix
    from {{ ref('int_policies_aggregated') }}
    where has_issue and has_commercial
    group by staff_id, date_trunc('month', sign_date)

),

targets as (

    select
        staff_id,
        target_month as month,
        premium_target,
        policy_target,
        store_code
    from {{ ref('stg_finance__targets') }}
    where staff_id is not null

),

surveys as (

    select
        staff_id,
        date_trunc('month', survey_date)::date as month,
        avg(score) as satisfaction_avg,
        count(*) filter (where complaint) as complaints
    from {{ ref('stg_dms__surveys') }}
    where business_type = '保险'
    group by staff_id, date_trunc('month', survey_date)

),

leads as (

    select
        referrer_staff_id as staff_id,
        date_trunc('month', lead_date)::date as month,
        count(*) as leads_referred
    from {{ ref('stg_dms__leads') }}
    group by referrer_staff_id, date_trunc('month', lead_date)

),

commissions as (

    select
        staff_id,
        month,
        sum(renewal_commission) as renewal_commission,
        sum(gift_cost) as gift_cost
    from {{ ref('int_renewal_commissions_computed') }}
    group by staff_id, month

),

staff_months as (

    select
        premium.staff_id,
        premium.month
    from premium
    union
    select
        targets.staff_id,
        targets.month
    from targets
    where targets.month <= {{ as_of_date() }}
    union
    select
        policies.staff_id,
        policies.month
    from policies

),

weights as (

    select
        max(weight) filter (where component = 'policies') as w_policies,
        max(cap) filter (where component = 'policies') as cap_policies,
        max(weight) filter (where component = 'attainment') as w_attainment,
        max(cap) filter (where component = 'attainment') as cap_attainment,
        max(weight) filter (where component = 'satisfaction') as w_satisfaction,
        max(weight) filter (where component = 'high_value_mix') as w_mix
    from {{ ref('kpi_weights') }}

),

measured as (

    select
        staff_months.staff_id,
        staff_months.month,
        coalesce(premium.store_code, targets.store_code, roster.store_code) as store_code,
        coalesce(policies.policies_signed, 0) as policies_signed,
        coalesce(premium.premium, 0) as premium,
        targets.premium_target,
        targets.policy_target,
        coalesce(premium.premium, 0) / nullif(targets.premium_target, 0) as attainment_rate,
        surveys.satisfaction_avg,
        coalesce(surveys.complaints, 0) as complaints,
        coalesce(leads.leads_referred, 0) as leads_referred,
        high_value.high_value_mix,
        coalesce(commissions.renewal_commission, 0)::numeric(14, 2) as renewal_commission,
        coalesce(commissions.gift_cost, 0)::numeric(14, 2) as gift_cost,
        targets.premium_target is null as is_missing_premium_target,
        targets.policy_target is null as is_missing_policy_target
    from staff_months
    left join premium on staff_months.staff_id = premium.staff_id and staff_months.month = premium.month
    left join policies on staff_months.staff_id = policies.staff_id and staff_months.month = policies.month
    left join high_value on staff_months.staff_id = high_value.staff_id and staff_months.month = high_value.month
    left join targets on staff_months.staff_id = targets.staff_id and staff_months.month = targets.month
    left join surveys on staff_months.staff_id = surveys.staff_id and staff_months.month = surveys.month
    left join leads on staff_months.staff_id = leads.staff_id and staff_months.month = leads.month
    left join commissions on staff_months.staff_id = commissions.staff_id and staff_months.month = commissions.month
    left join {{ ref('stg_dms__staff') }} as roster on staff_months.staff_id = roster.staff_id

),

bonus as (

    select
        measured.staff_id,
        measured.month,
        sum(
            tiers.rate * greatest(
                0,
                least(measured.premium, tiers.attainment_to * measured.premium_target)
                - tiers.attainment_from * measured.premium_target
            )
        ) as tiered_bonus
    from measured
    cross join {{ ref('bonus_tiers') }} as tiers
    where measured.premium_target is not null
    group by measured.staff_id, measured.month

)

select
    measured.*,
    round(
        100 * (
            -- least() skips nulls in PostgreSQL: a missing target must score 0, not the cap
            weights.w_policies * case
                when coalesce(measured.policy_target, 0) = 0 then 0
                else least(measured.policies_signed::numeric / measured.policy_target, weights.cap_policies)
            end
            + weights.w_attainment * case
                when measured.attainment_rate is null then 0
                else least(measured.attainment_rate, weights.cap_attainment)
            end
            + weights.w_satisfaction * coalesce(measured.satisfaction_avg / 5, 0)
            + weights.w_mix * coalesce(measured.high_value_mix, 0)
        ),
        2
    )::numeric(7, 2) as kpi_score,
    round(coalesce(bonus.tiered_bonus, 0), 2)::numeric(14, 2) as tiered_bonus
from measured
cross join weights
left join bonus on measured.staff_id = bonus.staff_id and measured.month = bonus.month
