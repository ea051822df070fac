{{
    config(
        materialized='incremental',
        unique_key=['survey_no'],
        indexes=[{'columns': ['survey_no'], 'unique': true}, {'columns': ['ledger_seq']}],
        post_hook="{{ record_watermark() }}"
    )
}}

-- Customer satisfaction callbacks (回访记录).
-- Incremental: a daily run copies the rows staging wrote since its last build (ledger_seq above the watermark),
-- each replacing its key's row; a staged row never leaves but with a batch held by hand, which rebuilds in full.
select
    surveys.survey_no,
    surveys.survey_date,
    surveys.store_code,
    surveys.staff_id,
    surveys.business_type,
    surveys.score,
    surveys.complaint,
    surveys.ledger_seq
from {{ ref('stg_dms__surveys') }} as surveys
where {{ is_changed('surveys') }}
