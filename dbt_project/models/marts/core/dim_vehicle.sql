{{
    config(
        materialized='incremental',
        unique_key=['vin'],
        indexes=[{'columns': ['vin'], 'unique': true}, {'columns': ['ledger_seq']}],
        pre_hook=[
            "{{ keep_affected_keys(vins_named_by_changed_rows()) }}",
            "{{ delete_rows_with_keys(['vin'], 'select vin from ' ~ affected_keys()) }}",
        ],
        post_hook="{{ record_watermark() }}"
    )
}}

-- depends_on: {{ ref('int_policies_aggregated') }}
-- depends_on: {{ ref('stg_insurer_picc__policies') }}
-- depends_on: {{ ref('stg_insurer_paic__policy_lines') }}
-- depends_on: {{ ref('stg_insurer_cpic__policies') }}
-- One row per VIN (the durable key: plates change, VINs do not), from every feed that names one.
--
-- Incremental per VIN (macros/incremental_customers.sql, vins_named_by_changed_rows): a row depends only on the rows
-- of its VIN in the feeds below, so a daily run recomputes the VINs named by the rows written since its last build,
-- in every version the raw exports hold (a corrected VIN: the old vehicle is recomputed too, and leaves when no row
-- names it any more: the pre-hook deletes every affected VIN's row first).
with
{% if is_incremental() -%}
affected_vins as (

    select vin from {{ affected_keys() }}

),

{% endif -%}
vins as (

    select
        vin,
        sign_date as seen_on,
        plate
    from {{ ref('int_policy_lines_unioned') }}
    where {{ is_affected_vin('vin') }}
    union all
    select
        vin,
        order_date as seen_on,
        null as plate
    from {{ ref('stg_dms__sales_orders') }}
    where {{ is_affected_vin('vin') }}
    union all
    select
        vin,
        opened_date as seen_on,
        plate
    from {{ ref('stg_aftersales__repair_orders') }}
    where {{ is_affected_vin('vin') }}
    union all
    select
        vin,
        reported_at::date as seen_on,
        plate
    from {{ ref('stg_insurer__claims') }}
    where {{ is_affected_vin('vin') }}
    union all
    select
        vin,
        lead_date as seen_on,
        null as plate
    from {{ ref('stg_dms__leads') }}
    where vin is not null and {{ is_affected_vin('vin') }}
    union all
    select
        vin,
        followup_date as seen_on,
        null as plate
    from {{ ref('stg_dms__followups') }}
    where {{ is_affected_vin('vin') }}

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
    where {{ is_affected_vin('vin') }}

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
    sales.customer_id,
    {{ ledger_seq_now() }} as ledger_seq
from summary
left join sales on summary.vin = sales.vin
