{{
    config(
        materialized='incremental',
        unique_key=['record_no'],
        indexes=[{'columns': ['record_no'], 'unique': true}, {'columns': ['ledger_seq']}],
        post_hook="{{ record_watermark() }}"
    )
}}

-- Renewal follow-up log (续保跟进), one row per record.
-- Incremental: a daily run copies the rows staging wrote since its last build (ledger_seq above the watermark),
-- each replacing its key's row; a staged row never leaves but with a batch held by hand, which rebuilds in full.
select
    followups.record_no,
    followups.vin,
    followups.policy_no,
    followups.followup_date,
    followups.channel,
    followups.staff_id,
    followups.result,
    followups.lost_reason,
    followups.quoted_amount,
    followups.ledger_seq
from {{ ref('stg_dms__followups') }} as followups
where {{ is_changed('followups') }}
