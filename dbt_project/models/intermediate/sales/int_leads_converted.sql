-- Cross-department leads (联动) and whether each converted: a policy for its VIN, or for any vehicle the
-- lead's customer bought from the group, signed by the group from the lead date to lead date + 60 days.
with customer_vehicles as (

    select distinct
        customer_id,
        vin
    from {{ ref('stg_dms__sales_orders') }}
    where customer_id is not null

),

-- Every VIN a lead can convert on: its own, and each vehicle its customer bought from the group.
lead_vins as (

    select
        lead_no,
        lead_date,
        vin
    from {{ ref('stg_dms__leads') }}
    where vin is not null

    union

    select
        leads.lead_no,
        leads.lead_date,
        customer_vehicles.vin
    from {{ ref('stg_dms__leads') }} as leads
    inner join customer_vehicles on leads.customer_id = customer_vehicles.customer_id

),

converted as (

    select distinct lead_vins.lead_no
    from lead_vins
    inner join {{ ref('int_policies_aggregated') }} as policies
        on lead_vins.vin = policies.vin
        and policies.sign_date between lead_vins.lead_date and lead_vins.lead_date + 60
    where policies.has_issue

)

select
    leads.lead_no,
    leads.lead_date,
    leads.store_code,
    leads.source_department,
    leads.referrer_staff_id,
    leads.vin,
    leads.customer_id,
    converted.lead_no is not null as is_converted
from {{ ref('stg_dms__leads') }} as leads
left join converted on leads.lead_no = converted.lead_no
