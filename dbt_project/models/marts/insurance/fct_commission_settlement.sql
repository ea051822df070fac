-- Commission detail: finance only (bi_reader never sees commission amounts).
{{
    config(
        materialized='incremental',
        unique_key=['insurer_code', 'policy_no', 'txn_no'],
        grants={'select': ['finance']},
        pre_hook=[
            "{{ keep_affected_keys(commission_transactions_changed()) }}",
            "{{ delete_rows_with_keys(['insurer_code', 'policy_no', 'txn_no'],
                'select insurer_code, policy_no, txn_no from ' ~ affected_keys()) }}",
        ],
        post_hook="{{ record_watermark() }}"
    )
}}

-- Commission reconciliation (手续费对账), one row per insurer × policy × transaction × class (compulsory /
-- commercial): expected = the warehouse's commission of the transaction (fct_policy_transactions, summed over its
-- coverage lines of that class); settled / withheld = 手续费金额 of the newest version of each statement row that
-- is 已结算 / 暂扣 or 拒付 (seed settlement_states). Statement rows for a transaction in no export are included.
-- Status: macro commission_settlement_status, first match wins.
--
-- Incremental per transaction (macros/incremental_customers.sql): a daily run recomputes every class of the
-- transactions whose fact rows or statement rows (every version) were written since its last build, and of the rows
-- on no statement whose status the insurer's latest statement month now turns. The pre-hooks compute the changed
-- transactions once (keep_affected_keys) and delete their rows first, so a key no upstream row carries any more (a
-- re-issued statement row moved to another insurer or class) leaves; the others are written again.

with
latest_statements as (

    select
        statements.insurer_code,
        max(statements.settlement_month) as latest_settlement_month
    from {{ ref('stg_insurer__settlements') }} as statements
    -- the statement rows of a state the reconciliation counts (as statement_rows below)
    where statements.settlement_status in (select states.source_status from {{ ref('settlement_states') }} as states)
    group by statements.insurer_code

),

{% if is_incremental() -%}
affected_transactions as (

    select changed.insurer_code, changed.policy_no, changed.txn_no
    from {{ affected_keys() }} as changed
    union
    -- a row on no statement: missing once its insurer sent a statement for a later month, else unsettled
    select
        previous.insurer_code,
        previous.policy_no,
        previous.txn_no
    from {{ this }} as previous
    left join latest_statements on previous.insurer_code = latest_statements.insurer_code
    where
        previous.statement_no is null
        and previous.insurer_code in (
            select changed.insurer_code from {{ affected_keys() }} as changed where changed.by_statement
        )
        and previous.status <> {{ commission_settlement_status(
            'true',
            'abs(previous.expected_commission) <= ' ~ insurance_parameter('commission_match_tolerance'),
            '0', '0', 'false',
            "coalesce(latest_statements.latest_settlement_month > date_trunc('month', previous.sign_date), false)"
        ) }}

),

{% endif -%}
expected as (

    select
        facts.insurer_code,
        facts.policy_no,
        facts.txn_no,
        coverages.coverage_class as insurance_class,
        min(facts.sign_date) as sign_date,
        min(facts.store_code) as store_code,
        sum(facts.commission_amount) as expected_commission
    from {{ ref('fct_policy_transactions') }} as facts
    inner join {{ ref('coverages') }} as coverages on facts.coverage_code = coverages.coverage_code
    {% if is_incremental() -%}
    where (facts.insurer_code, facts.policy_no, facts.txn_no) in (
        select affected.insurer_code, affected.policy_no, affected.txn_no from affected_transactions as affected
    )
    {% endif -%}
    group by facts.insurer_code, facts.policy_no, facts.txn_no, coverages.coverage_class

),

exported_rates as (

    select
        policy_lines.insurer_code,
        policy_lines.policy_no,
        policy_lines.txn_no,
        coverages.coverage_class as insurance_class,
        max(policy_lines.commission_rate) as exported_rate
    from {{ ref('int_policy_lines_unioned') }} as policy_lines
    inner join {{ ref('coverages') }} as coverages on policy_lines.coverage_code = coverages.coverage_code
    {% if is_incremental() -%}
    where (policy_lines.insurer_code, policy_lines.policy_no, policy_lines.txn_no) in (
        select affected.insurer_code, affected.policy_no, affected.txn_no from affected_transactions as affected
    )
    {% endif -%}
    group by policy_lines.insurer_code, policy_lines.policy_no, policy_lines.txn_no, coverages.coverage_class

),

statement_rows as (

    select
        statements.insurer_code,
        statements.policy_no,
        coalesce(statements.endorsement_no, '0') as txn_no,
        {{ statement_insurance_class('statements.policy_class') }} as insurance_class,
        statements.statement_no,
        statements.settlement_month,
        statements.commission_rate,
        statements.commission_amount,
        states.counts_as
    from {{ ref('stg_insurer__settlements') }} as statements
    inner join {{ ref('settlement_states') }} as states on statements.settlement_status = states.source_status
    {% if is_incremental() -%}
    where
        (statements.insurer_code, statements.policy_no, coalesce(statements.endorsement_no, '0'))
        in (
        select affected.insurer_code, affected.policy_no, affected.txn_no from affected_transactions as affected
    )
    {% endif %}
),

settled as (

    select
        insurer_code,
        policy_no,
        txn_no,
        insurance_class,
        coalesce(sum(commission_amount) filter (where counts_as = 'settled'), 0) as settled_commission,
        coalesce(sum(commission_amount) filter (where counts_as = 'withheld'), 0) as withheld_commission,
        count(*) filter (where counts_as = 'settled') as settled_rows,
        count(*) filter (where counts_as = 'withheld') as withheld_rows,
        max(commission_rate) filter (where counts_as = 'settled') as settled_rate,
        max(statement_no) as statement_no,
        max(settlement_month) as settlement_month
    from statement_rows
    group by insurer_code, policy_no, txn_no, insurance_class

),

reconciled as (

    select
        coalesce(expected.insurer_code, settled.insurer_code) as insurer_code,
        coalesce(expected.policy_no, settled.policy_no) as policy_no,
        coalesce(expected.txn_no, settled.txn_no) as txn_no,
        coalesce(expected.insurance_class, settled.insurance_class) as insurance_class,
        expected.store_code,
        expected.sign_date,
        coalesce(expected.expected_commission, 0) as expected_commission,
        coalesce(settled.settled_commission, 0) as settled_commission,
        coalesce(settled.withheld_commission, 0) as withheld_commission,
        coalesce(settled.settled_rows, 0) as settled_rows,
        coalesce(settled.withheld_rows, 0) as withheld_rows,
        exported_rates.exported_rate,
        settled.settled_rate,
        settled.statement_no,
        settled.settlement_month,
        expected.insurer_code is not null as in_exports,
        abs(coalesce(settled.settled_commission, 0) - coalesce(expected.expected_commission, 0))
        <= {{ insurance_parameter('commission_match_tolerance') }} as within_tolerance,
        coalesce(settled.settled_rate <> exported_rates.exported_rate, true) as rate_differs,
        coalesce(latest_statements.latest_settlement_month > date_trunc('month', expected.sign_date), false)
            as later_statement_sent
    from expected
    full outer join settled
        on expected.insurer_code = settled.insurer_code
        and expected.policy_no = settled.policy_no
        and expected.txn_no = settled.txn_no
        and expected.insurance_class = settled.insurance_class
    left join exported_rates
        on expected.insurer_code = exported_rates.insurer_code
        and expected.policy_no = exported_rates.policy_no
        and expected.txn_no = exported_rates.txn_no
        and expected.insurance_class = exported_rates.insurance_class
    left join latest_statements
        on coalesce(expected.insurer_code, settled.insurer_code) = latest_statements.insurer_code

)

select
    insurer_code,
    policy_no,
    txn_no,
    insurance_class,
    store_code,
    sign_date,
    expected_commission::numeric(14, 2) as expected_commission,
    settled_commission::numeric(14, 2) as settled_commission,
    withheld_commission::numeric(14, 2) as withheld_commission,
    (settled_commission - expected_commission)::numeric(14, 2) as difference,
    {{ commission_settlement_status(
        'in_exports', 'within_tolerance', 'settled_rows', 'withheld_rows', 'rate_differs', 'later_statement_sent'
    ) }} as status,
    exported_rate::numeric(7, 4) as exported_rate,
    settled_rate::numeric(7, 4) as settled_rate,
    statement_no,
    settlement_month,
    -- the month the row is reported in: the sign month, or the statement month of a row in no export
    coalesce(date_trunc('month', sign_date), settlement_month)::date as month,
    -- the ledger's change number of the build that wrote the row (the daily build's tests read the rows above the
    -- previous watermark)
    {{ ledger_seq_now() }} as ledger_seq
from reconciled
