{{ config(grants={'select': ['finance', 'insurance_staff', 'store_manager']}) }}
-- 应续清单 for managers and BI: the whole renewal pool in its contact windows, no contact data (insurance staff use
-- rpt_renewal_due_list_contacts).
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
    contact_60_date,
    contact_30_date,
    contact_15_date,
    expiring_commercial_premium::numeric(14, 2) as expiring_commercial_premium,
    first_contact_date,
    pool_type,
    assignment_reason,
    last_followup_date,
    last_followup_result
from {{ ref('int_renewal_due_vehicles_listed') }}
