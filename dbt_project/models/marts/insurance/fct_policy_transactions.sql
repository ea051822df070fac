{{
    config(
        materialized='incremental',
        unique_key=['insurer_code', 'policy_no', 'txn_no'],
        indexes=[{'columns': ['ledger_seq']}],
        grants={'select': ['finance']},
        post_hook=["{{ record_watermark() }}", "{{ store_row_security() }}"]
    )
}}

-- Kimball's insurance transaction fact: every issue, endorsement and cancellation of every policy the
-- group sold, per coverage, as signed rows (never updates). Premium includes VAT; vehicle tax is
-- separate and earns no commission; commission is per coverage line (macro commission_amount).
-- Incremental: a daily run rewrites only the transactions whose lines changed (see macros/incremental.sql), and
-- stamps ledger_seq on every row it writes (indexed: fct_commission_settlement reads the rows written since its build).

select
    policy_lines.policy_no,
    policy_lines.txn_no,
    policy_lines.txn_type,
    policy_lines.coverage_code,
    policy_lines.insurer_code,
    policy_lines.store_code,
    policy_lines.staff_id,
    policy_lines.vin,
    policy_lines.sign_date,
    policy_lines.start_date,
    policy_lines.end_date,
    sum(policy_lines.premium)::numeric(14, 2) as premium,
    sum(policy_lines.vehicle_tax)::numeric(14, 2) as vehicle_tax,
    sum({{ commission_amount('policy_lines.premium', 'policy_lines.commission_rate') }})::numeric(14, 2)
        as commission_amount,
    policy_types.renewal_type,
    -- the ledger's change number of the build that wrote the row: the daily build's tests read the rows above the
    -- previous watermark (macros/test_scope.sql), and models downstream find the rows rewritten since their build
    {{ ledger_seq_now() }} as ledger_seq
from {{ ref('int_policy_lines_unioned') }} as policy_lines
left join {{ ref('int_policies_typed') }} as policy_types
    on policy_lines.insurer_code = policy_types.insurer_code
    and policy_lines.policy_no = policy_types.policy_no
{% if is_incremental() %}
-- Only transactions whose lines changed since the last build (new, corrected, released), with all their lines, and
-- every transaction of a policy whose term's renewal type changed (a later delivery, renewal or cancellation): among
-- the policies int_policies_typed wrote since this model's build (it rewrites a policy only under a new batch's
-- number), those whose type differs from the published one. One set of keys, so PostgreSQL joins it (a semi-join):
-- as two sets under an `or`, the second could not be hashed in work_mem at 10M rows and was scanned again for every
-- policy line (the 10M daily build did not finish).
where
    (policy_lines.insurer_code, policy_lines.policy_no, policy_lines.txn_no) in (
        select
            changed.insurer_code,
            changed.policy_no,
            changed.txn_no
        from {{ ref('int_policy_lines_unioned') }} as changed
        where {{ is_changed('changed') }}
        union
        select
            lines.insurer_code,
            lines.policy_no,
            lines.txn_no
        from {{ ref('int_policy_lines_unioned') }} as lines
        inner join {{ ref('int_policies_typed') }} as typed
            on lines.insurer_code = typed.insurer_code
            and lines.policy_no = typed.policy_no
        where {{ is_changed('typed') }} and not exists (
            select from {{ this }} as previous
            where
                typed.insurer_code = previous.insurer_code
                and typed.policy_no = previous.policy_no
                and typed.renewal_type is not distinct from previous.renewal_type
        )
    )
{% endif %}
group by
    policy_lines.policy_no, policy_lines.txn_no, policy_lines.txn_type, policy_lines.coverage_code,
    policy_lines.insurer_code, policy_lines.store_code, policy_lines.staff_id, policy_lines.vin,
    policy_lines.sign_date, policy_lines.start_date, policy_lines.end_date, policy_types.renewal_type
