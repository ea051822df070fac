-- Repair orders (维修工单), latest state of each order.
select
    ro_no,
    store_code,
    vin,
    opened_date,
    settled_date,
    ro_type,
    labour_amount,
    parts_amount,
    total_amount,
    advisor_staff_id,
    is_insurance_claim,
    claim_insurer_code,
    claim_no
from {{ ref('stg_aftersales__repair_orders') }}
