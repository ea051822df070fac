{{
    config(
        materialized='incremental',
        unique_key=['expiring_policy_no'],
        indexes=[{'columns': ['ledger_seq']}],
        pre_hook="{{ delete_rows_not_in(ref('int_renewal_opportunities_matched'), ['expiring_policy_no']) }}",
        post_hook="{{ record_watermark() }}"
    )
}}

-- Accumulating snapshot of renewal opportunities (应续): due → first contact → quote → renewed or lost.
-- Rules in int_renewal_opportunities_matched; outcomes are as of the run's as-of date.
--
-- Incremental (macros/incremental_keys.sql): a daily run writes the opportunities whose row differs from the one
-- published (the intermediate model rewrites outcomes the date turned under an unchanged ledger_seq, so a copy of its
-- rows above the watermark would miss them) and deletes those the intermediate model no longer has.
with current as (

    select
        expiring_policy_no,
        vin,
        store_code,
        staff_id,
        due_date,
        outcome,
        renewed_policy_no,
        lost_reason,
        first_contact_date,
        quoted_date,
        renewed_date,
        assigned_staff_id,
        renewed_staff_id,
        renewed_store_code,
        ownership_exception,
        renewal_lag_days,
        won_back_date,
        expiring_premium::numeric(14, 2) as expiring_premium,
        expiring_insurer_code
    from {{ ref('int_renewal_opportunities_matched') }}

)

select
    current.*,
    {{ ledger_seq_now() }} as ledger_seq
from current
{{ unless_published_as_is('current', ['expiring_policy_no']) }}
