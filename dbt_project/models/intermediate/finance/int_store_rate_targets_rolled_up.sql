-- The month's rate targets of each store (finance_targets' store-level rows) and of the group (`ALL`: the average of
-- the stores' targets), read by the weekly KPIs and the lagging-item ledger alike.
with store_targets as (

    select
        store_code,
        target_month,
        renewal_rate_target,
        penetration_rate_target,
        retention_rate_target
    from {{ ref('stg_finance__targets') }}
    where staff_id is null

)

select
    store_code,
    target_month,
    renewal_rate_target,
    penetration_rate_target,
    retention_rate_target
from store_targets
union all
select
    'ALL' as store_code,
    target_month,
    avg(renewal_rate_target) as renewal_rate_target,
    avg(penetration_rate_target) as penetration_rate_target,
    avg(retention_rate_target) as retention_rate_target
from store_targets
group by target_month
