-- 应续清单 with the insured's name and phone: granted to insurance_staff only (see dbt_project.yml grants).
{{ config(grants={'select': ['insurance_staff']}) }}
select
    store_code,
    assigned_staff_id,
    assigned_team,
    insurer_code,
    expiring_policy_no,
    vin,
    plate,
    due_date,
    days_to_expiry,
    contact_window_days,
    insured_name,
    insured_phone,
    pool_type,
    assignment_reason,
    contact_60_date,
    contact_30_date,
    contact_15_date,
    last_followup_date,
    last_followup_result
from {{ ref('int_renewal_due_vehicles_listed') }}
