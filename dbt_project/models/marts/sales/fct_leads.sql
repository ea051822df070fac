-- Cross-department leads (联动) and whether each converted within 60 days.
select
    lead_no,
    lead_date,
    store_code,
    source_department,
    referrer_staff_id,
    vin,
    customer_id,
    is_converted
from {{ ref('int_leads_converted') }}
