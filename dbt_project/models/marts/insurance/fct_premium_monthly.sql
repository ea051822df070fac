-- Monthly premium snapshot per policy: written premium (by sign date of each transaction) and earned
-- premium (the policy's net premium × days of cover inside the month / days of the whole term, start and
-- end inclusive), for months up to the run's as-of date.
with policies as (

    select
        insurer_code,
        policy_no,
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
    where date_trunc('month', sign_date) <= {{ as_of_date() }}
    group by insurer_code, policy_no, date_trunc('month', sign_date)

),

-- Months of cover up to the as-of month only: most terms run a year past it, and those months are not
-- reported yet.
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
        date_trunc('month', policies.start_date),
        least(date_trunc('month', policies.end_date), date_trunc('month', {{ as_of_date() }})),
        interval '1 month'
    ) as month

),

-- A month with premium written, earned, or both: one full join instead of a union joined back twice.
months as (

    select
        coalesce(written.insurer_code, cover_months.insurer_code) as insurer_code,
        coalesce(written.policy_no, cover_months.policy_no) as policy_no,
        coalesce(written.month, cover_months.month) as month,
        written.written_premium,
        cover_months.earned_premium
    from written
    full outer join cover_months
        on written.insurer_code = cover_months.insurer_code
        and written.policy_no = cover_months.policy_no
        and written.month = cover_months.month

)

select
    months.insurer_code,
    months.policy_no,
    months.month,
    policies.store_code,
    policies.staff_id,
    coalesce(months.written_premium, 0)::numeric(14, 2) as written_premium,
    round(coalesce(months.earned_premium, 0), 2)::numeric(14, 2) as earned_premium
from months
inner join {{ ref('int_policies_aggregated') }} as policies
    on months.insurer_code = policies.insurer_code and months.policy_no = policies.policy_no
