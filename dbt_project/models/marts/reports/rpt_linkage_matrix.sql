-- 项目间联动 matrix: customers active in the 12 months up to the as-of date, by which departments they used
-- (insurance: a policy signed; sales: a car ordered; after-sales: a repair order), per home store. The customers and
-- their departments: int_customers_linked (incremental per customer); this counts them.
with matrix as (

    select
        store_code,
        used_insurance,
        used_sales,
        used_aftersales,
        count(*)::int as customers
    from {{ ref('int_customers_linked') }}
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
