-- One renewal commission per renewal opportunity renewed here, paid to the seller of the renewal's main
-- policy in the month it was signed, by the commercial premium of that renewal at issue (compulsory
-- excluded; a compulsory-only renewal has 0 and falls in the lowest band). Bands: seed renewal_commission_bands.
with renewals as (

    select
        opportunities.expiring_policy_no,
        opportunities.renewed_insurer_code,
        opportunities.renewed_policy_no,
        opportunities.renewed_date,
        opportunities.renewed_staff_id as staff_id,
        opportunities.renewed_store_code as store_code,
        policies.issue_commercial_premium as commercial_premium
    from {{ ref('int_renewal_opportunities_matched') }} as opportunities
    inner join {{ ref('int_policies_aggregated') }} as policies
        on opportunities.renewed_insurer_code = policies.insurer_code
        and opportunities.renewed_policy_no = policies.policy_no
    where opportunities.outcome = 'renewed_here'

)

select
    renewals.*,
    date_trunc('month', renewals.renewed_date)::date as month,
    bands.band,
    bands.commission::numeric(14, 2) as renewal_commission,
    bands.gift_cost::numeric(14, 2) as gift_cost
from renewals
inner join {{ ref('renewal_commission_bands') }} as bands
    on renewals.commercial_premium >= bands.commercial_premium_from
    and (bands.commercial_premium_to is null or renewals.commercial_premium < bands.commercial_premium_to)
