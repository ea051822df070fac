-- Monthly premium snapshot per policy: written premium (by sign date of each transaction) and earned
-- premium (the policy's net premium × days of cover inside the month / days of the whole term, start and
-- end inclusive), for months up to the run's as-of date.
with policies as (

    select
        insurer_code,
        policy_no,
        store_code,
        staff_id,
        start_date,
        end_date,
        net_premium,
        (end_date - start_date + 1) as term_days
    from {{ ref('int_policies_aggregated') }}
    where end_date >= start_date

),

written as (

    select insurer_code, policy_no, date_trunc('month', sign_date)::date as month, sum(premium) as written_premium
    from {{ ref('int_policy_lines_unioned') }}
    group by insurer_code, policy_no, date_trunc('month', sign_date)

),

cover_months as (

    select
        policies.insurer_code,
        policies.policy_no,
        month::date as month,
        policies.net_premium
        * (least(policies.end_date, (month + interval '1 month - 1 day')::date)
           - greatest(policies.start_date, month::date) + 1)
        / policies.term_days as earned_premium
    from policies
    cross join lateral generate_series(
        date_trunc('month', policies.start_date), date_trunc('month', policies.end_date), interval '1 month'
    ) as month

),

months as (

    select insurer_code, policy_no, month from written
    union
    select insurer_code, policy_no, month from cover_months

)

select
    months.insurer_code,
    months.policy_no,
    months.month,
    policies.store_code,
    policies.staff_id,
    coalesce(written.written_premium, 0)::numeric(14, 2) as written_premium,
    round(coalesce(cover_months.earned_premium, 0), 2)::numeric(14, 2) as earned_premium
from months
inner join {{ ref('int_policies_aggregated') }} as policies
    on months.insurer_code = policies.insurer_code and months.policy_no = policies.policy_no
left join written
    on months.insurer_code = written.insurer_code and months.policy_no = written.policy_no
    and months.month = written.month
left join cover_months
    on months.insurer_code = cover_months.insurer_code and months.policy_no = cover_months.policy_no
    and months.month = cover_months.month
where months.month <= {{ as_of_date() }}
