-- 项目间联动 matrix: customers active in the 12 months up to the as-of date, by which departments they used
-- (insurance: a policy signed; sales: a car ordered; after-sales: a repair order), per home store.
-- A vehicle the group never sold counts as its own customer (keyed by VIN). The vehicle's owner: the customer of the
-- order that speaks for it (int_vehicles_attributed, the one owner rule). The home store is where most of the
-- customer's activities in the 12 months were. The activities come per vehicle and store from
-- int_vehicle_activities_summarized, which a daily run recomputes for the affected vehicles only.
with owners as (

    select
        vin,
        customer_id
    from {{ ref('int_vehicles_attributed') }}

),

-- each customer's activity per store: its vehicles' rows (int_vehicle_activities_summarized, per VIN and store)
customer_stores as (

    select
        coalesce(owners.customer_id, 'VIN:' || vehicles.vin) as customer_key,
        vehicles.store_code,
        sum(vehicles.activities) as activities,
        bool_or(vehicles.used_insurance) as used_insurance,
        bool_or(vehicles.used_sales) as used_sales,
        bool_or(vehicles.used_aftersales) as used_aftersales
    from {{ ref('int_vehicle_activities_summarized') }} as vehicles
    left join owners on vehicles.vin = owners.vin
    group by coalesce(owners.customer_id, 'VIN:' || vehicles.vin), vehicles.store_code

),

-- the home store: where most of the customer's activities were (the lowest store code of a tie)
customers as (

    select
        customer_key,
        (array_agg(store_code order by activities desc, store_code asc) filter (where store_code is not null))[1]
            as store_code,
        bool_or(used_insurance) as used_insurance,
        bool_or(used_sales) as used_sales,
        bool_or(used_aftersales) as used_aftersales
    from customer_stores
    group by customer_key

),

matrix as (

    select
        store_code,
        used_insurance,
        used_sales,
        used_aftersales,
        count(*)::int as customers
    from customers
    group by store_code, used_insurance, used_sales, used_aftersales

)

select
    matrix.*,
    round(
        sum(matrix.customers) filter (where matrix.used_insurance and matrix.used_aftersales) over store_rows
        / nullif(sum(matrix.customers) filter (where matrix.used_insurance) over store_rows, 0)::numeric,
        4
    )::numeric(9, 4) as insured_also_serviced_share
from matrix
window store_rows as (partition by matrix.store_code)
