-- Whether each policy's customer is an organisation (单位/车队, docs: plan_tracking): the DMS customer of its VIN is
-- 单位 or came through 车队; without a DMS customer, the insured's 证件号码 has the shape of a unified social credit
-- code (macro is_unified_social_credit_code). One row per policy.

-- the insured's 证件号码 of each policy, from the one union of the three insurer layouts
with insured_ids as (

    select
        insurer_code,
        policy_no,
        max(insured_id_number) as insured_id_number
    from {{ ref('int_policy_lines_unioned') }}
    group by insurer_code, policy_no

)

select
    policies.insurer_code,
    policies.policy_no,
    customers.customer_id,
    customers.customer_type,
    customers.source as customer_source,
    case
        when customers.customer_id is not null
            then coalesce(customers.customer_type = '单位' or customers.source = '车队', false)
        else coalesce({{ is_unified_social_credit_code('upper(trim(insured_ids.insured_id_number))') }}, false)
    end as is_organisation,
    case
        when customers.customer_id is not null then 'dms_customer'
        when insured_ids.insured_id_number is not null then 'id_number_shape'
    end as classified_by
from {{ ref('int_policies_aggregated') }} as policies
left join {{ ref('int_vehicles_attributed') }} as sales on policies.vin = sales.vin
left join {{ ref('stg_dms__customers') }} as customers on sales.customer_id = customers.customer_id
left join insured_ids
    on policies.insurer_code = insured_ids.insurer_code
    and policies.policy_no = insured_ids.policy_no
