-- One row per VIN (the durable key: plates change, VINs do not), from every feed that names one.
with vins as (

    select
        vin,
        sign_date as seen_on,
        plate
    from {{ ref('int_policy_lines_unioned') }}
    union all
    select
        vin,
        order_date as seen_on,
        null as plate
    from {{ ref('stg_dms__sales_orders') }}
    union all
    select
        vin,
        opened_date as seen_on,
        plate
    from {{ ref('stg_aftersales__repair_orders') }}
    union all
    select
        vin,
        reported_at::date as seen_on,
        plate
    from {{ ref('stg_insurer__claims') }}
    union all
    select
        vin,
        lead_date as seen_on,
        null as plate
    from {{ ref('stg_dms__leads') }}
    where vin is not null
    union all
    select
        vin,
        followup_date as seen_on,
        null as plate
    from {{ ref('stg_dms__followups') }}

),

summary as (

    select
        vin,
        min(seen_on) as first_seen_date,
        (array_agg(plate order by seen_on desc, plate desc) filter (where plate is not null))[1] as latest_plate
    from vins
    group by vin

),

sales as (

    select * from {{ ref('int_vehicles_attributed') }}

)

select
    summary.vin,
    sales.brand,
    sales.series,
    sales.model,
    sales.is_nev,
    summary.latest_plate,
    summary.first_seen_date,
    case when sales.order_status = {{ delivered_status() }} then sales.store_code end as sold_by_store_code,
    case when sales.order_status = {{ delivered_status() }} then sales.delivery_date end as delivery_date,
    sales.customer_id
from summary
left join sales on summary.vin = sales.vin
