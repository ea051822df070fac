-- Commission detail: finance only.
{{ config(grants={'select': ['finance']}) }}
-- Insurance profit per store and month = commission income − renewal commissions − actual gift costs (dms_gifts by
-- 发放日期), with the band standard of the gifted renewals, the over-spend and the settled commission beside it
-- (docs: gift_costs);
-- 人效 = premium per insurance-department head (employees of 保险部 employed at any time in the month).
with months as (

    select distinct
        store_code,
        date_trunc('month', business_date)::date as month
    from {{ ref('rpt_daily_operations') }}
    union
    select
        store_code,
        date_trunc('month', handed_out_date)::date as month
    from {{ ref('stg_dms__gifts') }}
    where handed_out_date <= {{ as_of_date() }}

),

income as (

    select
        store_code,
        date_trunc('month', business_date)::date as month,
        sum(premium) as premium,
        sum(commission_amount) as commission_income
    from {{ ref('rpt_daily_operations') }}
    group by 1, 2

),

payouts as (

    select
        store_code,
        month,
        sum(renewal_commission) as renewal_commissions
    from {{ ref('int_renewal_commissions_computed') }}
    group by 1, 2

),

-- the band cost of each renewal (its main policy), which the gift handed out for it should have cost
gift_standards as (

    select
        renewed_policy_no,
        max(gift_cost) as gift_cost
    from {{ ref('int_renewal_commissions_computed') }}
    group by 1

),

gifts as (

    select
        gifts.store_code,
        date_trunc('month', gifts.handed_out_date)::date as month,
        sum(gifts.gift_cost) as gift_costs,
        sum(coalesce(renewals.gift_cost, 0)) as standard_gift_costs
    from {{ ref('stg_dms__gifts') }} as gifts
    left join gift_standards as renewals on gifts.policy_no = renewals.renewed_policy_no
    group by 1, 2

),

settled as (

    select
        store_code,
        month,
        sum(settled_commission) as commission_settled
    from {{ ref('fct_commission_settlement') }}
    where store_code is not null
    group by 1, 2

),

heads as (

    select
        months.store_code,
        months.month,
        count(staff.staff_id) as insurance_headcount
    from months
    left join {{ ref('stg_dms__staff') }} as staff
        on months.store_code = staff.store_code
        and staff.department = '保险部'
        and (months.month + interval '1 month - 1 day')::date >= staff.hired_date
        and (staff.left_date is null or months.month <= staff.left_date)
    group by 1, 2

)

select
    months.store_code,
    months.month,
    coalesce(income.premium, 0)::numeric(14, 2) as premium,
    coalesce(income.commission_income, 0)::numeric(14, 2) as commission_income,
    coalesce(payouts.renewal_commissions, 0)::numeric(14, 2) as renewal_commissions,
    coalesce(gifts.gift_costs, 0)::numeric(14, 2) as gift_costs,
    (
        coalesce(income.commission_income, 0)
        - coalesce(payouts.renewal_commissions, 0)
        - coalesce(gifts.gift_costs, 0)
    )::numeric(14, 2) as insurance_profit,
    heads.insurance_headcount::int as insurance_headcount,
    round(coalesce(income.premium, 0) / nullif(heads.insurance_headcount, 0), 2)::numeric(14, 2) as premium_per_head,
    coalesce(settled.commission_settled, 0)::numeric(14, 2) as commission_settled,
    coalesce(gifts.standard_gift_costs, 0)::numeric(14, 2) as standard_gift_costs,
    (coalesce(gifts.gift_costs, 0) - coalesce(gifts.standard_gift_costs, 0))::numeric(14, 2) as gift_overspend
from months
left join income on months.store_code = income.store_code and months.month = income.month
left join payouts on months.store_code = payouts.store_code and months.month = payouts.month
left join heads on months.store_code = heads.store_code and months.month = heads.month
left join gifts on months.store_code = gifts.store_code and months.month = gifts.month
left join settled on months.store_code = settled.store_code and months.month = settled.month
