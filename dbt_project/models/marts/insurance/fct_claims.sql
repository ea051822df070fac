-- Claims with their latest status, the store of the policy and whether the car was repaired at a group store.
select
    claims.claim_no,
    claims.insurer_code,
    claims.policy_no,
    claims.vin,
    claims.occurred_at,
    claims.reported_at,
    claims.estimated_loss,
    claims.paid_amount,
    claims.status,
    claims.recommended_store_code,
    repair_match.store_code as policy_store_code,
    coalesce(repair_match.is_repaired_here, false) as is_repaired_here
from {{ ref('stg_insurer__claims') }} as claims
left join {{ ref('int_claims_repair_matched') }} as repair_match on claims.claim_no = repair_match.claim_no
