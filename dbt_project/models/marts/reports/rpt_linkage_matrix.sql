-- 项目间联动 matrix: customers active in the 12 months up to the as-of date, by which departments they used
-- (insurance: a policy signed; sales: a car ordered; after-sales: a repair order), per home store.
-- A vehicle the group never sold counts as its own customer (keyed by VIN). The vehicle's owner: the customer of the
-- order that speaks for it (int_vehicles_attributed, the one owner rule). The home store is where most of the
-- customer's activities in the 12 months were; mode() takes the first of a tie in its order, the lowest store code.
-- A table: computed per vehicle as an incremental model, the pair cost more a day at 10M than this (bench/NOTES.md).
with owners as (

    select
        vin,
        customer_id
    from {{ ref('int_vehicles_attributed') }}

),

activity as (

    select
        vin,
        store_code,
        'insurance' as department,
        sign_date as activity_date
    from {{ ref('int_policy_lines_unioned') }}
    where txn_type = 'issue'
    union all
    select
        vin,
        store_code,
        'sales' as department,
        order_date as activity_date
    from {{ ref('stg_dms__sales_orders') }}
    union all
    select
        vin,
        store_code,
        'aftersales' as department,
        opened_date as activity_date
    from {{ ref('stg_aftersales__repair_orders') }}

),

customers as (

    select
        coalesce(owners.customer_id, 'VIN:' || activity.vin) as customer_key,
        mode() within group (order by activity.store_code) as store_code,
        bool_or(activity.department = 'insurance') as used_insurance,
        bool_or(activity.department = 'sales') as used_sales,
        bool_or(activity.department = 'aftersales') as used_aftersales
    from activity
    left join owners on activity.vin = owners.vin
    where {{ in_12_months_to_as_of('activity.activity_date') }}
    group by coalesce(owners.customer_id, 'VIN:' || activity.vin)

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
