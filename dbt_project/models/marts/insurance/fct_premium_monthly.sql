-- Monthly premium snapshot per policy: written premium (by sign date of each transaction) and earned
-- premium (the policy's net premium × days of cover inside the month / days of the whole term, start and
-- end inclusive), for months up to the run's as-of date.
--
-- Incremental (macros/incremental.sql): a daily run recomputes every month of the policies whose lines changed,
-- and adds the months that the as-of date has moved into for all other policies; a run for an earlier as-of
-- date drops the months after it. The pre-hooks delete exactly the rows the select writes again; a unique
-- index on the grain refuses any duplicate (and is what its primary-key test checks). Its rows carry no ledger_seq
-- (rows_stamped: false), so its daily tests read the whole table (macros/test_scope.sql).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        meta={'rows_stamped': false},
        indexes=[{'columns': ['insurer_code', 'policy_no', 'month'], 'unique': true}],
        pre_hook=["{% if is_incremental() %}
            delete from {{ this }} where (insurer_code, policy_no) in ({{ policies_with_changed_lines() }})
            {% endif %}",
            "{% if is_incremental() %}
            delete from {{ this }} where month > date_trunc('month', {{ as_of_date() }})
                and {{ premium_monthly_built_through() }} > date_trunc('month', {{ as_of_date() }})
            {% endif %}"],
        post_hook="{{ record_watermark() }}"
    )
}}

with policy_terms as not materialized (  -- inlined into each branch below, so each reads only what it needs

    select
        insurer_code,
        policy_no,
        start_date,
        end_date,
        net_premium,
        (end_date - start_date + 1) as term_days
    from {{ ref('int_policies_aggregated') }}

),

-- the policies this build writes, each with the first month it writes for them
policies as (

    select
        policy_terms.*,
        date '0001-01-01' as written_from
    from policy_terms
    {% if is_incremental() -%}
    where (policy_terms.insurer_code, policy_terms.policy_no) in ({{ policies_with_changed_lines() }})

    union all

    -- every other policy: only the months the as-of date has moved into since the last build (none within a month).
    -- Not exists, not `not in`: a `not in` list the planner thinks too large for work_mem is searched once per
    -- policy (the first daily build of a month at 10M rows ran for more than 18 minutes).
    select
        policy_terms.*,
        ({{ premium_monthly_built_through() }} + interval '1 month')::date as written_from
    from policy_terms
    where date_trunc('month', {{ as_of_date() }}) > {{ premium_monthly_built_through() }}
        and not exists (
            select from ({{ policies_with_changed_lines() }}) as changed
            where changed.insurer_code = policy_terms.insurer_code and changed.policy_no = policy_terms.policy_no
        )
    {%- endif %}

),

written as (

    select
        policy_lines.insurer_code,
        policy_lines.policy_no,
        date_trunc('month', policy_lines.sign_date)::date as month,
        sum(policy_lines.premium) as written_premium
    from {{ ref('int_policy_lines_unioned') }} as policy_lines
    inner join policies
        on policy_lines.insurer_code = policies.insurer_code
        and policy_lines.policy_no = policies.policy_no
    where date_trunc('month', policy_lines.sign_date) <= {{ as_of_date() }}
        and date_trunc('month', policy_lines.sign_date) >= policies.written_from
    group by policy_lines.insurer_code, policy_lines.policy_no, date_trunc('month', policy_lines.sign_date)

),

-- Months of cover up to the as-of month only: most terms run a year past it, and those months are not
-- reported yet.
cover_months as (

    select
        policies.insurer_code,
        policies.policy_no,
        month::date as month,
        policies.net_premium
        * (
            least(policies.end_date, (month + interval '1 month - 1 day')::date)
            - greatest(policies.start_date, month::date) + 1
        )
        / policies.term_days as earned_premium
    from policies
    cross join
        lateral generate_series(
            greatest(date_trunc('month', policies.start_date), policies.written_from),
            least(date_trunc('month', policies.end_date), date_trunc('month', {{ as_of_date() }})),
            interval '1 month'
        ) as month
    where policies.end_date >= policies.start_date

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
