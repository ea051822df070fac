-- Claims on policies the group sold (not withdrawn 注销), with the store of the policy and whether the car
-- was repaired at a group store: a repair order carries the claim number, or — for repair orders without
-- one — a 事故维修/钣喷 order for the VIN opened from the report date to report date + 30 days (inclusive).
with claims as (

    select
        claims.claim_no,
        claims.insurer_code,
        claims.policy_no,
        claims.vin,
        claims.reported_at::date as reported_date,
        claims.status,
        policies.store_code
    from {{ ref('stg_insurer__claims') }} as claims
    inner join {{ ref('int_policies_aggregated') }} as policies
        on claims.policy_no = policies.policy_no
        and claims.insurer_code = policies.insurer_code
    where claims.status <> '注销'

),

repair_orders as (

    select * from {{ ref('stg_aftersales__repair_orders') }}

),

repaired_by_claim_no as (

    select distinct claim_no
    from repair_orders
    where claim_no is not null

),

repaired_by_vin as (

    select distinct claims.claim_no
    from claims
    inner join repair_orders
        on claims.vin = repair_orders.vin
        and repair_orders.opened_date between claims.reported_date and claims.reported_date + 30
    where repair_orders.claim_no is null
        and repair_orders.ro_type in ('事故维修', '钣喷')

)

select
    claims.*,
    (repaired_by_claim_no.claim_no is not null or repaired_by_vin.claim_no is not null) as is_repaired_here
from claims
left join repaired_by_claim_no on claims.claim_no = repaired_by_claim_no.claim_no
left join repaired_by_vin on claims.claim_no = repaired_by_vin.claim_no
