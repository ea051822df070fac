{{
    config(
        materialized='incremental',
        unique_key=['ro_no'],
        indexes=[{'columns': ['ro_no'], 'unique': true}, {'columns': ['ledger_seq']}],
        post_hook="{{ record_watermark() }}"
    )
}}

-- Repair orders (维修工单), latest state of each order.
-- Incremental: a daily run copies the rows staging wrote since its last build (ledger_seq above the watermark),
-- each replacing its key's row; a staged row never leaves but with a batch held by hand, which rebuilds in full.
select
    repair_orders.ro_no,
    repair_orders.store_code,
    repair_orders.vin,
    repair_orders.opened_date,
    repair_orders.settled_date,
    repair_orders.ro_type,
    repair_orders.labour_amount,
    repair_orders.parts_amount,
    repair_orders.total_amount,
    repair_orders.advisor_staff_id,
    repair_orders.is_insurance_claim,
    repair_orders.claim_insurer_code,
    repair_orders.claim_no,
    repair_orders.ledger_seq
from {{ ref('stg_aftersales__repair_orders') }} as repair_orders
where {{ is_changed('repair_orders') }}
