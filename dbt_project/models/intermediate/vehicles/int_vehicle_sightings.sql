-- Every row of every feed that names a vehicle: the VIN, the day it was seen and the plate it carried then.
-- dim_vehicle summarises them per VIN.
--
-- Incremental (macros/incremental.sql): a daily run rewrites the sightings of the rows that changed, replacing
-- them by the key their feed replaces rows by (a policy transaction's coverage lines together). Each new row
-- keeps the VINs its key had before (previous_vins): a corrected VIN moves a row from one vehicle to another, and
-- dim_vehicle recomputes both. Rows without a VIN are kept too, so that a VIN deleted by a correction is seen.
{{ config(materialized='incremental', unique_key=['feed', 'replace_key'],
          indexes=[{'columns': ['feed', 'replace_key', 'line'], 'unique': true}, {'columns': ['vin']},
                   {'columns': ['ledger_seq']}],
          post_hook="{{ record_watermark() }}") }}

with changed as (

    select
        'insurer' as feed,
        concat_ws('|', lines.insurer_code, lines.policy_no, lines.txn_no) as replace_key,
        coalesce(lines.coverage_source_name, '') as line,
        lines.vin,
        lines.sign_date as seen_on,
        lines.plate,
        lines.ledger_seq
    from {{ ref('int_policy_lines_unioned') }} as lines
    where {{ is_changed('lines') }}
    union all
    select 'sales', orders.order_no, '', orders.vin, orders.order_date, null, orders.ledger_seq
    from {{ ref('stg_dms__sales_orders') }} as orders
    where {{ is_changed('orders') }}
    union all
    select 'aftersales', repairs.ro_no, '', repairs.vin, repairs.opened_date, repairs.plate, repairs.ledger_seq
    from {{ ref('stg_aftersales__repair_orders') }} as repairs
    where {{ is_changed('repairs') }}
    union all
    select 'claims', claims.claim_no, '', claims.vin, claims.reported_at::date, claims.plate, claims.ledger_seq
    from {{ ref('stg_insurer__claims') }} as claims
    where {{ is_changed('claims') }}
    union all
    select 'leads', leads.lead_no, '', leads.vin, leads.lead_date, null, leads.ledger_seq
    from {{ ref('stg_dms__leads') }} as leads
    where {{ is_changed('leads') }}
    union all
    select 'followups', followups.record_no, '', followups.vin, followups.followup_date, null, followups.ledger_seq
    from {{ ref('stg_dms__followups') }} as followups
    where {{ is_changed('followups') }}

)

select
    changed.*,
    {% if is_incremental() -%}
    array(
        select distinct previous.vin
        from {{ this }} as previous
        where previous.feed = changed.feed
            and previous.replace_key = changed.replace_key
            and previous.vin is not null
    )
    {%- else -%}
    array[]::text[]
    {%- endif %} as previous_vins
from changed
