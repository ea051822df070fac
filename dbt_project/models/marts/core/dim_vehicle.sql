-- One row per VIN (the durable key: plates change, VINs do not), from every feed that names one.
--
-- Incremental (macros/incremental.sql): a daily run rebuilds the vehicles whose sightings changed, including the
-- vehicle a corrected row was taken from (previous_vins); a vehicle left with no sighting at all is deleted.
{{ config(materialized='incremental', unique_key='vin', indexes=[{'columns': ['vin'], 'unique': true}],
          post_hook=["{{ delete_vehicles_no_longer_seen() }}", "{{ record_watermark() }}"]) }}

with
{% if is_incremental() -%}
changed_sightings as (

    select sightings.vin, sightings.previous_vins
    from {{ ref('int_vehicle_sightings') }} as sightings
    where {{ is_changed('sightings') }}

),

affected as (

    select vin from changed_sightings where vin is not null
    union
    select unnest(previous_vins) from changed_sightings

),

{% endif -%}
summary as (

    select
        sightings.vin,
        min(sightings.seen_on) as first_seen_date,
        (array_agg(sightings.plate order by sightings.seen_on desc, sightings.plate desc)
            filter (where sightings.plate is not null))[1] as latest_plate
    from {{ ref('int_vehicle_sightings') }} as sightings
    where sightings.vin is not null
        {%- if is_incremental() %}
        and sightings.vin in (select affected.vin from affected)
        {%- endif %}
    group by sightings.vin

),

sales as (

    select * from {{ ref('int_vehicle_latest_sales') }}

)

select
    summary.vin,
    sales.brand,
    sales.series,
    sales.model,
    sales.is_nev,
    summary.latest_plate,
    summary.first_seen_date,
    case when sales.order_status = '已交车' then sales.store_code end as sold_by_store_code,
    case when sales.order_status = '已交车' then sales.delivery_date end as delivery_date,
    sales.customer_id
from summary
left join sales on summary.vin = sales.vin
