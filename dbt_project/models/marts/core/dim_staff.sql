-- Employees as in the latest roster, plus staff ids that appear on policies but not in the roster
-- (inferred members, so that no fact row loses its seller). Since ingestion holds rows whose staff code no roster
-- lists (ingestion/staff_hold.py, docs block source_staff_hold), the inferred branch is only a safety net.
with roster as (

    select
        staff_id,
        staff_name,
        store_code,
        department,
        position,
        hired_date,
        left_date,
        false as is_inferred
    from {{ ref('stg_dms__staff') }}

),

inferred as (

    select distinct on (staff_id)
        staff_id,
        null::text as staff_name,
        store_code,
        null::text as department,
        null::text as position,
        null::date as hired_date,
        null::date as left_date,
        true as is_inferred
    from {{ ref('int_policy_lines_unioned') }}
    where staff_id is not null
        and staff_id not in (select roster.staff_id from roster)
    order by staff_id asc, sign_date desc, store_code asc

)

select
    *,
    left_date is null or left_date >= {{ as_of_date() }} as is_employed
from (
    select * from roster
    union all
    select * from inferred
) as staff
