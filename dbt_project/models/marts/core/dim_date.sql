-- Role-playing calendar: sign, start, end, due, delivery and report dates all join here. It spans the plausible
-- years of seed insurance_parameters, outside which the loader quarantines a business date (ingestion/reference.py).
select
    day::date as date_day,
    extract(year from day)::int as year,
    extract(quarter from day)::int as quarter,
    date_trunc('month', day)::date as month_start,
    date_trunc('week', day)::date as week_start,
    extract(isodow from day)::int as iso_day_of_week,
    extract(isodow from day) in (6, 7) as is_weekend,
    extract(day from date_trunc('month', day) + interval '1 month' - interval '1 day')::int as days_in_month
from
    generate_series(
        make_date({{ insurance_parameter('plausible_first_year') }}::int, 1, 1),
        make_date({{ insurance_parameter('plausible_last_year') }}::int, 12, 31),
        interval '1 day'
    ) as day
