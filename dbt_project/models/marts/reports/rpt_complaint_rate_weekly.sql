-- 投诉率 per store and for the group (store_code ALL) per week (Monday start): insurance callbacks (回访, business
-- type 保险) of the week and the share of them that carried a complaint. The weekly report shows it beside the
-- week before; the rate is computed here once, never in the report.
with surveys as (

    select
        surveys.store_code,
        dates.week_start,
        surveys.complaint
    from {{ ref('stg_dms__surveys') }} as surveys
    inner join {{ ref('dim_date') }} as dates on surveys.survey_date = dates.date_day
    where surveys.business_type = '保险'

),

weekly as (

    select
        coalesce(store_code, 'ALL') as store_code,
        week_start,
        count(*) as surveys_count,
        count(*) filter (where complaint) as complaints_count
    from surveys
    group by grouping sets ((store_code, week_start), (week_start))

)

select
    store_code,
    week_start,
    surveys_count::int as surveys_count,
    complaints_count::int as complaints_count,
    round(complaints_count::numeric / nullif(surveys_count, 0), 4)::numeric(9, 4) as complaint_rate
from weekly
