{{
    config(
        materialized='incremental',
        unique_key=['insurer_code', 'policy_no'],
        indexes=[{'columns': ['insurer_code', 'policy_no'], 'unique': true}, {'columns': ['ledger_seq']}],
        pre_hook="{{ keep_affected_keys(policies_typed_affected_vins()) }}",
        post_hook="{{ record_watermark() }}"
    )
}}

-- The renewal type of every policy's term (specs: Renewal type of a new policy), one row per policy:
-- a main policy has its own type (int_main_policies_classified); a policy beside it (the compulsory policy of a
-- term with a commercial one, same VIN, starting within 30 days) takes the type of that main policy, the
-- nearest start first. A policy of no issued term (only a later transaction delivered) has none.
--
-- Incremental per vehicle (macros/incremental_keys.sql): a row depends on the policies of its VIN and their main
-- policies' types, so a daily run types again every policy of the VINs whose policies int_policies_aggregated rewrote
-- (it rewrites a changed policy's vehicles before and after a corrected VIN) or whose main policies were classified
-- again. Policies never leave (a batch held after it reached the marts requests a full rebuild): rows are replaced.

with
{% if is_incremental() -%}
affected_vins as (

    -- policies_typed_affected_vins, computed once in the pre-hook into an analyzed temporary table (keep_affected_keys)
    select vin from {{ affected_keys() }}

),

{% endif -%}
policies as (

    select
        insurer_code,
        policy_no,
        vin,
        start_date,
        is_main,
        has_issue
    from {{ ref('int_policies_aggregated') }}
    where {{ is_affected_vin('vin') }}

),

main_types as (

    select
        classified.insurer_code,
        classified.policy_no,
        classified.renewal_type,
        policies.vin,
        policies.start_date
    from {{ ref('int_main_policies_classified') }} as classified
    inner join policies
        on classified.insurer_code = policies.insurer_code
        and classified.policy_no = policies.policy_no

),

beside_main as (

    select distinct on (policies.insurer_code, policies.policy_no)
        policies.insurer_code,
        policies.policy_no,
        main_types.renewal_type
    from policies
    inner join main_types
        on policies.vin = main_types.vin
        and main_types.start_date between policies.start_date - {{ insurance_parameter("same_term_start_days") }}::int
        and policies.start_date + {{ insurance_parameter("same_term_start_days") }}::int
    where not policies.is_main and policies.has_issue
    order by
        policies.insurer_code asc,
        policies.policy_no asc,
        abs(main_types.start_date - policies.start_date) asc,
        main_types.policy_no asc

)

select
    policies.insurer_code,
    policies.policy_no,
    coalesce(main_types.renewal_type, beside_main.renewal_type) as renewal_type,
    {{ ledger_seq_now() }} as ledger_seq
from policies
left join main_types
    on policies.insurer_code = main_types.insurer_code
    and policies.policy_no = main_types.policy_no
left join beside_main
    on policies.insurer_code = beside_main.insurer_code
    and policies.policy_no = beside_main.policy_no
