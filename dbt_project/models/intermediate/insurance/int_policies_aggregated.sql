-- One row per policy (insurer + policy number) with its transactions netted in, and whether it is the
-- main policy of its vehicle's term: the commercial policy when the vehicle has one for that term,
-- else the compulsory one (docs block rule_vocabulary).
--
-- Incremental (macros/incremental.sql): a daily run recomputes the policies whose lines changed and every policy
-- of their vehicles, before and after the change (a corrected VIN moves a policy from one vehicle to another),
-- because whether a policy is the main one depends on the other policies of its vehicle.
{{ config(materialized='incremental', unique_key=['insurer_code', 'policy_no'],
          indexes=[{'columns': ['insurer_code', 'policy_no'], 'unique': true}, {'columns': ['ledger_seq']},
                   {'columns': ['sign_date']}, {'columns': ['start_date']}, {'columns': ['end_date']},
                   {'columns': ['vin']}],
          post_hook="{{ record_watermark() }}") }}

with
{% if is_incremental() -%}
changed_policies as (

    {{ policies_with_changed_lines() }}

),

affected_vins as (

    select policy_lines.vin
    from {{ ref('int_policy_lines_unioned') }} as policy_lines
    where
        (policy_lines.insurer_code, policy_lines.policy_no) in (
            select
                changed_policies.insurer_code,
                changed_policies.policy_no
            from changed_policies
        )
    union
    select previous.vin
    from {{ this }} as previous
    where
        (previous.insurer_code, previous.policy_no) in (
            select
                changed_policies.insurer_code,
                changed_policies.policy_no
            from changed_policies
        )

),

affected_policies as (

    select
        changed_policies.insurer_code,
        changed_policies.policy_no
    from changed_policies
    union
    select
        policy_lines.insurer_code,
        policy_lines.policy_no
    from {{ ref('int_policy_lines_unioned') }} as policy_lines
    where policy_lines.vin in (select affected_vins.vin from affected_vins)

),

{% endif -%}
coverage_lines as (

    select
        policy_lines.*,
        coverages.coverage_class
    from {{ ref('int_policy_lines_unioned') }} as policy_lines
    inner join {{ ref('coverages') }} as coverages on policy_lines.coverage_code = coverages.coverage_code
    {% if is_incremental() -%}
    where
        (policy_lines.insurer_code, policy_lines.policy_no) in (
            select
                affected_policies.insurer_code,
                affected_policies.policy_no
            from affected_policies
        )
    {%- endif %}

),

policies as (

    select
        insurer_code,
        policy_no,
        -- attributes of the original issue; when only later transactions were delivered, of the earliest one
        (array_agg(vin order by txn_type <> 'issue', sign_date, txn_no))[1] as vin,
        (array_agg(store_code order by txn_type <> 'issue', sign_date, txn_no))[1] as store_code,
        (array_agg(staff_id order by txn_type <> 'issue', sign_date, txn_no))[1] as staff_id,
        (array_agg(insurer_business_type order by txn_type <> 'issue', sign_date, txn_no))[1] as insurer_business_type,
        max(previous_policy_no) as previous_policy_no,
        min(sign_date) filter (where txn_type = 'issue') as sign_date,
        min(start_date) as start_date,
        max(end_date) as end_date,
        bool_or(txn_type = 'issue') as has_issue,
        bool_or(coverage_class = 'commercial' and txn_type = 'issue') as has_commercial,
        bool_or(coverage_class = 'compulsory' and txn_type = 'issue') as has_compulsory,
        bool_or(txn_type = 'cancellation') as is_cancelled,
        min(sign_date) filter (where txn_type = 'cancellation') as cancelled_on,
        sum(premium) as net_premium,
        sum(premium) filter (where coverage_class = 'commercial') as net_commercial_premium,
        coalesce(sum(premium) filter (where coverage_class = 'commercial' and txn_type = 'issue'), 0)
            as issue_commercial_premium,
        bool_or(coverage_code = 'VD' and txn_type = 'issue') and bool_or(coverage_code = 'TPL' and txn_type = 'issue')
            as has_vd_and_tpl
    from coverage_lines
    group by insurer_code, policy_no

),

-- Compulsory-only policies that sit beside a commercial one of the same vehicle and term (starts within
-- 30 days): those are not main policies. A join on the VIN, not a subquery per policy, so it stays linear.
beside_commercial as (

    select distinct
        policies.insurer_code,
        policies.policy_no
    from policies
    inner join policies as commercial
        on policies.vin = commercial.vin
        and commercial.has_commercial
        and commercial.has_issue
        and commercial.start_date between policies.start_date - 30 and policies.start_date + 30
    where not policies.has_commercial

)

select
    policies.*,
    case
        when policies.has_commercial and policies.has_compulsory then 'combined'
        when policies.has_commercial then 'commercial'
        else 'compulsory'
    end as policy_class,
    policies.has_issue and (policies.has_commercial or beside_commercial.policy_no is null) as is_main,
    -- every row this run wrote, a vehicle neighbour's too: what the per-vehicle models downstream rebuild
    {{ ledger_seq_now() }} as ledger_seq
from policies
left join beside_commercial
    on policies.insurer_code = beside_commercial.insurer_code
    and policies.policy_no = beside_commercial.policy_no
{% if is_incremental() -%}
-- the other policies were read only as vehicle neighbours: their own rows have not changed. Joins, not an
-- `in (subquery)` under the `or`, which PostgreSQL rescans per row once the subquery outgrows work_mem.
left join changed_policies
    on policies.insurer_code = changed_policies.insurer_code and policies.policy_no = changed_policies.policy_no
left join affected_vins on policies.vin = affected_vins.vin
where changed_policies.policy_no is not null or affected_vins.vin is not null
{%- endif %}
