-- Cross-department leads (联动) and whether each converted: a policy for its VIN, or for any vehicle the
-- lead's customer bought from the group, signed by the group from the lead date to lead date + 60 days.
with customer_vehicles as (

    select distinct customer_id, vin
    from {{ ref('stg_dms__sales_orders') }}
    where customer_id is not null

)

select
    leads.lead_no,
    leads.lead_date,
    leads.store_code,
    leads.source_department,
    leads.referrer_staff_id,
    leads.vin,
    leads.customer_id,
    exists (
        select 1
        from {{ ref('int_policies_aggregated') }} as policies
        where policies.has_issue
            and policies.sign_date between leads.lead_date and leads.lead_date + 60
            and (
                policies.vin = leads.vin
                or policies.vin in (
                    select customer_vehicles.vin from customer_vehicles
                    where customer_vehicles.customer_id = leads.customer_id
                )
            )
    ) as is_converted
from {{ ref('stg_dms__leads') }} as leads
