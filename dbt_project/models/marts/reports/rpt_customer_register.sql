{{
    config(
        materialized='incremental',
        unique_key=['customer_id'],
        indexes=[{'columns': ['customer_id'], 'unique': true}, {'columns': ['ledger_seq']}],
        pre_hook="{{ keep_affected_keys(customers_of_changed_records_or_vins(vins_of_register_rows_changed())) }}",
        post_hook="{{ record_watermark() }}"
    )
}}

-- depends_on: {{ ref('stg_dms__sales_orders') }}
-- depends_on: {{ ref('stg_insurer_picc__policies') }}
-- depends_on: {{ ref('stg_insurer_paic__policy_lines') }}
-- depends_on: {{ ref('stg_insurer_cpic__policies') }}
-- depends_on: {{ ref('stg_insurer__claims') }}
-- depends_on: {{ ref('int_policy_lines_unioned') }}
-- 客户登记表: one row per DMS customer with vehicles, tier, segment, next renewal due date, last visit and
-- contact staff. Personal data masked; roles allowed to see it read the staging layer.
-- A vehicle's owner: the customer of the order that speaks for it (int_vehicles_attributed, the one owner rule).
--
-- Incremental per customer (macros/incremental_customers.sql, customers_of_changed_records_or_vins): a daily run
-- rewrites the customers whose record changed, and the owners, old and new, of the VINs of
-- vins_of_register_rows_changed (computed in the pre-hook into an analyzed temporary table, keep_affected_keys).

with
{% if is_incremental() -%}
affected_customers as (

    select customer_id from {{ affected_keys() }}

),

{% endif -%}
vehicles as (

    select
        vin,
        customer_id
    from {{ ref('int_vehicles_attributed') }}
    where customer_id is not null and {{ is_affected_customer('customer_id') }}

),

vehicle_counts as (

    select
        customer_id,
        count(*) as vehicles
    from vehicles
    group by customer_id

),

next_due as (

    select
        vehicles.customer_id,
        min(opportunities.due_date) as next_due_date
    from {{ ref('int_renewal_opportunities_matched') }} as opportunities
    inner join vehicles on opportunities.vin = vehicles.vin
    where opportunities.outcome = 'pending' and opportunities.due_date >= {{ as_of_date() }}
    group by vehicles.customer_id

),

last_visit as (

    select
        vehicles.customer_id,
        max(repair_orders.opened_date) as last_visit_date
    from {{ ref('stg_aftersales__repair_orders') }} as repair_orders
    inner join vehicles on repair_orders.vin = vehicles.vin
    where repair_orders.opened_date <= {{ as_of_date() }}
    group by vehicles.customer_id

),

contact as (

    select distinct on (vehicles.customer_id)
        vehicles.customer_id,
        policies.staff_id
    from {{ ref('int_policies_aggregated') }} as policies
    inner join vehicles on policies.vin = vehicles.vin
    where policies.is_main and policies.sign_date <= {{ as_of_date() }}
    order by vehicles.customer_id asc, policies.sign_date desc, policies.staff_id asc

)

select
    customers.customer_id,
    {{ mask_name('customers.customer_name') }} as customer_name_masked,
    segments.phone_masked,
    customers.customer_type,
    customers.store_code,
    coalesce(vehicle_counts.vehicles, 0)::int as vehicles,
    segments.tier,
    segments.value_segment,
    next_due.next_due_date,
    last_visit.last_visit_date,
    coalesce(contact.staff_id, customers.store_code || ' 保险部') as contact_staff,
    {{ ledger_seq_now() }} as ledger_seq
from {{ ref('stg_dms__customers') }} as customers
inner join {{ ref('dim_customer') }} as segments on customers.customer_id = segments.customer_id
left join vehicle_counts on customers.customer_id = vehicle_counts.customer_id
left join next_due on customers.customer_id = next_due.customer_id
left join last_visit on customers.customer_id = last_visit.customer_id
left join contact on customers.customer_id = contact.customer_id
where {{ is_affected_customer('customers.customer_id') }}
