-- Commission detail: finance only.
{{ config(grants={'select': ['finance']}) }}
-- Insurance profit per store and month = commission income − renewal commissions − gift costs;
-- 人效 = premium per insurance-department head (employees of 保险部 employed at any time in the month).
with months as (

    select distinct
        store_code,
        date_trunc('month', business_date)::date as month
    from {{ ref('rpt_daily_operations') }}

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
        sum(renewal_commission) as renewal_commissions,
        sum(gift_cost) as gift_costs
    from {{ ref('int_renewal_commissions') }}
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
    coalesce(payouts.gift_costs, 0)::numeric(14, 2) as gift_costs,
    (
        coalesce(income.commission_income, 0)
        - coalesce(payouts.renewal_commissions, 0)
        - coalesce(payouts.gift_costs, 0)
    )::numeric(14, 2) as insurance_profit,
    heads.insurance_headcount::int as insurance_headcount,
    round(coalesce(income.premium, 0) / nullif(heads.insurance_headcount, 0), 2)::numeric(14, 2) as premium_per_head
from months
left join income on months.store_code = income.store_code and months.month = income.month
left join payouts on months.store_code = payouts.store_code and months.month = payouts.month
left join heads on months.store_code = heads.store_code and months.month = heads.month
