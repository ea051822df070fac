-- Accumulating snapshot of renewal opportunities (应续): due → first contact → quote → renewed or lost.
-- Rules in int_renewal_opportunities_matched; outcomes are as of the run's as-of date.
select
    expiring_policy_no,
    vin,
    store_code,
    staff_id,
    due_date,
    outcome,
    renewed_policy_no,
    lost_reason,
    first_contact_date,
    quoted_date,
    renewed_date,
    assigned_staff_id,
    renewed_staff_id,
    renewed_store_code,
    ownership_exception,
    renewal_lag_days,
    won_back_date,
    expiring_premium::numeric(14, 2) as expiring_premium,
    expiring_insurer_code
from {{ ref('int_renewal_opportunities_matched') }}
