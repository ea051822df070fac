{{
    config(
        materialized='incremental',
        unique_key=['insurer_code', 'policy_no'],
        indexes=[{'columns': ['insurer_code', 'policy_no'], 'unique': true}, {'columns': ['ledger_seq']}],
        pre_hook="{{ keep_affected_keys(policies_of_changed_customers()) }}",
        post_hook="{{ record_watermark() }}"
    )
}}

-- depends_on: {{ ref('stg_dms__sales_orders') }}
-- Whether each policy's customer is an organisation (单位/车队, docs: plan_tracking): the DMS customer of its VIN is
-- 单位 or came through 车队; without a DMS customer, the insured's 证件号码 has the shape of a unified social credit
-- code (macro is_unified_social_credit_code). One row per policy.
--
-- Incremental per policy (macros/incremental_customers.sql, policies_of_changed_customers): a row depends on its
-- policy's lines, the DMS owner of its VIN and that customer's record; the as-of date plays no part. Policies never
-- leave (a batch held after it reached the marts requests a full rebuild), so rows are only replaced.

with
{% if is_incremental() -%}
affected_policies as (

    -- policies_of_changed_customers, computed once in the pre-hook into an analyzed temporary table (keep_affected_keys)
    select insurer_code, policy_no from {{ affected_keys() }}

),

{% endif -%}
-- the insured's 证件号码 of each policy, from the one union of the three insurer layouts
insured_ids as (

    select
        policy_lines.insurer_code,
        policy_lines.policy_no,
        max(policy_lines.insured_id_number) as insured_id_number
    from {{ ref('int_policy_lines_unioned') }} as policy_lines
    {% if is_incremental() -%}
    inner join affected_policies
        on policy_lines.insurer_code = affected_policies.insurer_code
        and policy_lines.policy_no = affected_policies.policy_no
    {% endif -%}
    group by policy_lines.insurer_code, policy_lines.policy_no

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
    end as classified_by,
    {{ ledger_seq_now() }} as ledger_seq
from {{ ref('int_policies_aggregated') }} as policies
{% if is_incremental() -%}
inner join affected_policies
    on policies.insurer_code = affected_policies.insurer_code
    and policies.policy_no = affected_policies.policy_no
{% endif -%}
left join {{ ref('int_vehicles_attributed') }} as sales on policies.vin = sales.vin
left join {{ ref('stg_dms__customers') }} as customers on sales.customer_id = customers.customer_id
left join insured_ids
    on policies.insurer_code = insured_ids.insurer_code
    and policies.policy_no = insured_ids.policy_no
