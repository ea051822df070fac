-- Monthly premium snapshot per policy: written premium (by sign date of each transaction) and earned
-- premium (the policy's net premium × days of cover inside the month / days of the whole term, start and
-- end inclusive), for months up to the run's as-of date.
--
-- Incremental (macros/incremental.sql): a daily run recomputes every month of the policies whose lines changed,
-- and adds the months that the as-of date has moved into for all other policies; a run for an earlier as-of
-- date drops the months after it. The pre-hook deletes exactly the rows the select writes again.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{% if is_incremental() %}
            delete from {{ this }}
            where (insurer_code, policy_no) in ({{ premium_monthly_changed_policies() }})
                or month > least(date_trunc('month', {{ as_of_date() }}), {{ premium_monthly_built_through() }})
            {% endif %}",
        post_hook="{{ record_watermark() }}"
    )
}}

with changed_policies as (

    {% if is_incremental() %}{{ premium_monthly_changed_policies() }}{% else %}select null::text as insurer_code, null::text as policy_no where false{% endif %}

),

policies as (

    select
        policies.insurer_code,
        policies.policy_no,
        policies.start_date,
        policies.end_date,
        policies.net_premium,
        (policies.end_date - policies.start_date + 1) as term_days,
        -- the first month this build writes for the policy: all of them, or those after the last build's
        {% if is_incremental() -%}
        case
            when changed_policies.policy_no is not null then date '0001-01-01'
            else ({{ premium_monthly_built_through() }} + interval '1 month')::date
        end
        {%- else -%}
        date '0001-01-01'
        {%- endif %} as written_from
    from {{ ref('int_policies_aggregated') }} as policies
    left join changed_policies
        on policies.insurer_code = changed_policies.insurer_code and policies.policy_no = changed_policies.policy_no
    {% if is_incremental() -%}
    -- within the month of the last build, only the changed policies have anything to write
    where changed_policies.policy_no is not null
        or date_trunc('month', {{ as_of_date() }}) > {{ premium_monthly_built_through() }}
    {%- endif %}

),

written as (

    select
        lines.insurer_code,
        lines.policy_no,
        date_trunc('month', lines.sign_date)::date as month,
        sum(lines.premium) as written_premium
    from {{ ref('int_policy_lines_unioned') }} as lines
    inner join policies on lines.insurer_code = policies.insurer_code and lines.policy_no = policies.policy_no
    where date_trunc('month', lines.sign_date) <= {{ as_of_date() }}
        and date_trunc('month', lines.sign_date) >= policies.written_from
    group by lines.insurer_code, lines.policy_no, date_trunc('month', lines.sign_date)

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
