-- Renewal follow-up log (续保跟进), one row per record.
select
    record_no,
    vin,
    policy_no,
    followup_date,
    channel,
    staff_id,
    result,
    lost_reason,
    quoted_amount
from {{ ref('stg_dms__followups') }}
