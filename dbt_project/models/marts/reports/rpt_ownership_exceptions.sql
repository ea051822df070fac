-- 抢户清单 for store managers: renewals signed in the as-of date's month that are ownership exceptions (docs block
-- ownership_exception): signed by another store than the expiring policy's, or by another employee than the
-- assignee while the assignee was employed. store_code is the expiring policy's store (whose manager settles it).
select
    opportunities.store_code,
    opportunities.expiring_insurer_code as insurer_code,
    opportunities.expiring_policy_no,
    opportunities.vin,
    opportunities.due_date,
    opportunities.assigned_staff_id,
    assignees.staff_name as assigned_staff_name,
    opportunities.renewed_store_code,
    opportunities.renewed_staff_id,
    signers.staff_name as renewed_staff_name,
    opportunities.renewed_policy_no,
    opportunities.renewed_date,
    case
        when opportunities.renewed_store_code <> opportunities.store_code then 'other_store'
        else 'other_staff'
    end as exception_kind
from {{ ref('int_renewal_opportunities_matched') }} as opportunities
left join {{ ref('stg_dms__staff') }} as assignees on opportunities.assigned_staff_id = assignees.staff_id
left join {{ ref('stg_dms__staff') }} as signers on opportunities.renewed_staff_id = signers.staff_id
where
    opportunities.ownership_exception
    and date_trunc('month', opportunities.renewed_date) = date_trunc('month', {{ as_of_date() }})
