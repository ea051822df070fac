-- 续保池: every vehicle the group can still win as of the run's date, with its type, due date, store and assignee,
-- the expiring policy (group_renewal, lapsed) and the customer's tier and segment. Rules in
-- int_renewal_pool_vehicles_classified (docs block renewal_pool).
select
    pool.vin,
    pool.pool_type,
    pool.store_code,
    pool.due_date,
    pool.due_date - {{ as_of_date() }} as days_to_due,
    pool.assigned_staff_id,
    pool.assignment_reason,
    pool.expiring_insurer_code,
    pool.expiring_policy_no,
    pool.expiring_premium::numeric(14, 2) as expiring_premium,
    vehicles.customer_id,
    customers.tier,
    customers.value_segment
from {{ ref('int_renewal_pool_vehicles_classified') }} as pool
left join {{ ref('dim_vehicle') }} as vehicles on pool.vin = vehicles.vin
left join {{ ref('dim_customer') }} as customers on vehicles.customer_id = customers.customer_id
