-- Customer satisfaction callbacks (回访记录).
select
    survey_no,
    survey_date,
    store_code,
    staff_id,
    business_type,
    score,
    complaint
from {{ ref('stg_dms__surveys') }}
