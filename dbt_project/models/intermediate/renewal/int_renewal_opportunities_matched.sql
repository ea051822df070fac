{{
    config(
        materialized='incremental',
        unique_key=['expiring_insurer_code', 'expiring_policy_no'],
        indexes=[
            {'columns': ['expiring_insurer_code', 'expiring_policy_no'], 'unique': true},
            {'columns': ['vin']},
            {'columns': ['ledger_seq']},
            {'columns': ['due_date']},
        ],
        pre_hook=[
            "{{ keep_affected_keys(renewal_opportunities_affected_vins()) }}",
            "{{ delete_rows_of_changed_keys(ref('int_policies_aggregated'), ['insurer_code', 'policy_no'],
                  ['expiring_insurer_code', 'expiring_policy_no']) }}",
        ],
        post_hook="{{ record_watermark() }}"
    )
}}

-- Renewal opportunities (应续) and their outcome, by the rules of docs block rule_renewal_opportunity:
-- one per vehicle and expiring term whose main policy was sold by the group and not cancelled;
-- renewed here when a later main policy for the VIN, by any store and insurer, is signed from
-- due_date − 90 to due_date + 30 days; lost once the run's as-of date is past due_date + 30.
--
-- Incremental per vehicle (macros/incremental_keys.sql): a daily run recomputes every opportunity of the VINs whose
-- policies were rewritten (int_policies_aggregated rewrites a changed policy's vehicles before and after a corrected
-- VIN), whose follow-ups changed (old and new VIN), whose sellers' employment changed, of the opportunities whose
-- due + 30 the as-of date moved past since the last build (pending to lost), and of the policies signed on the days
-- it moved past (a win-back counts from its sign date).

with
{% if is_incremental() -%}
affected_vins as (

    -- renewal_opportunities_affected_vins, computed once in the pre-hook into an analyzed temporary table (keep_affected_keys)
    select vin from {{ affected_keys() }}

),

{% endif -%}
opportunities as (

    select
        *,
        -- a later main policy signed in this window renews the term; past its end, an unrenewed term is lost
        end_date - {{ insurance_parameter('renewal_window_before_days') }}::int as renewal_window_start,
        end_date + {{ insurance_parameter('renewal_window_after_days') }}::int as renewal_window_end
    from {{ ref('int_policies_aggregated') }}
    where is_main and has_issue and not is_cancelled and {{ is_affected_vin('vin') }}

),

renewal_candidates as (

    select
        opportunities.insurer_code as expiring_insurer_code,
        opportunities.policy_no as expiring_policy_no,
        renewals.insurer_code as renewed_insurer_code,
        renewals.policy_no as renewed_policy_no,
        renewals.sign_date as renewed_date,
        renewals.staff_id as renewed_staff_id,
        renewals.store_code as renewed_store_code,
        row_number() over (
            partition by opportunities.insurer_code, opportunities.policy_no
            order by renewals.sign_date, renewals.policy_no, renewals.insurer_code
        ) as candidate_rank
    from opportunities
    -- a renewal that was itself cancelled renews nothing
    inner join opportunities as renewals
        on opportunities.vin = renewals.vin
        and opportunities.start_date < renewals.start_date
        and renewals.sign_date between opportunities.renewal_window_start and opportunities.renewal_window_end

),

-- the follow-ups of each opportunity: of its VIN, dated in its follow-up window (macro followup_of_opportunity)
matched_followups as (

    select
        opportunities.insurer_code,
        opportunities.policy_no,
        followups.followup_date,
        followups.record_no,
        followups.result,
        followups.lost_reason,
        followups.quoted_amount
    from opportunities
    inner join {{ ref('stg_dms__followups') }} as followups
        on opportunities.vin = followups.vin
        and {{ followup_of_opportunity('followups.followup_date', 'opportunities.end_date') }}

),

lost_reasons as (

    select
        insurer_code,
        policy_no,
        (array_agg(lost_reason order by followup_date desc, record_no desc))[1] as lost_reason
    from matched_followups
    where result = {{ lost_result() }}
    group by insurer_code, policy_no

),

first_contacts as (

    select
        followups.insurer_code,
        followups.policy_no,
        min(followups.followup_date) as first_contact_date,
        min(followups.followup_date) filter (where followups.result = {{ quoted_result() }}) as quoted_date,
        -- the funnel (Renewal operations): effective = any result but 未接通; a quote by result or amount
        min(followups.followup_date) filter (where followups.result <> {{ not_reached_result() }})
            as effective_contact_date,
        bool_or({{ is_quote('followups.result', 'followups.quoted_amount') }}) as has_quote,
        (array_agg(followups.followup_date order by followups.followup_date desc, followups.record_no desc))[1]
            as last_followup_date,
        (array_agg(followups.result order by followups.followup_date desc, followups.record_no desc))[1]
            as last_followup_result
    from matched_followups as followups
    group by followups.insurer_code, followups.policy_no

),

-- Win-back (挽回): the first group main policy for the VIN signed after the renewal window and by
-- due_date + win_back_window_days; it can only follow a lost opportunity.
won_back as (

    select
        opportunities.insurer_code,
        opportunities.policy_no,
        min(later.sign_date) as won_back_date
    from opportunities
    inner join opportunities as later
        on opportunities.vin = later.vin
        and opportunities.renewal_window_end < later.sign_date
        and opportunities.end_date + {{ insurance_parameter('win_back_window_days') }}::int >= later.sign_date
    group by opportunities.insurer_code, opportunities.policy_no

)

select
    opportunities.insurer_code as expiring_insurer_code,
    opportunities.policy_no as expiring_policy_no,
    opportunities.vin,
    opportunities.store_code,
    opportunities.staff_id,
    opportunities.end_date as due_date,
    opportunities.net_commercial_premium as expiring_commercial_premium,
    case
        when renewal_candidates.renewed_policy_no is not null then 'renewed_here'
        when {{ as_of_date() }} > opportunities.renewal_window_end then 'lost'
        else 'pending'
    end as outcome,
    renewal_candidates.renewed_insurer_code,
    renewal_candidates.renewed_policy_no,
    renewal_candidates.renewed_date,
    renewal_candidates.renewed_staff_id,
    renewal_candidates.renewed_store_code,
    case
        when renewal_candidates.renewed_policy_no is null
            and {{ as_of_date() }} > opportunities.renewal_window_end
            then coalesce(lost_reasons.lost_reason, 'unknown')
    end as lost_reason,
    first_contacts.first_contact_date,
    first_contacts.quoted_date,
    -- milestone lags of the accumulating snapshot, in days (negative = before the due date)
    first_contacts.first_contact_date - opportunities.end_date as first_contact_lag_days,
    first_contacts.quoted_date - opportunities.end_date as quote_lag_days,
    renewal_candidates.renewed_date - opportunities.end_date as renewal_lag_days,
    -- Renewal operations: premium of the expiring main policy (incl. VAT, netted), the assignee (the seller when
    -- employed on the due date, else the store team: null), ownership exception (抢户) and win-back
    opportunities.net_premium as expiring_premium,
    case when {{ employed_on('sellers', 'opportunities.end_date') }} then opportunities.staff_id end
        as assigned_staff_id,
    renewal_candidates.renewed_policy_no is not null
    and (
        renewal_candidates.renewed_store_code is distinct from opportunities.store_code
        or (
            {{ employed_on('sellers', 'opportunities.end_date') }}
            and {{ employed_on('sellers', 'renewal_candidates.renewed_date') }}
            and renewal_candidates.renewed_staff_id is distinct from opportunities.staff_id
        )
    ) as ownership_exception,
    case
        when renewal_candidates.renewed_policy_no is null
            and {{ as_of_date() }} > opportunities.renewal_window_end
            and won_back.won_back_date <= {{ as_of_date() }}
            then won_back.won_back_date
    end as won_back_date,
    first_contacts.effective_contact_date,
    coalesce(first_contacts.has_quote, false) as has_quote,
    first_contacts.last_followup_date,
    first_contacts.last_followup_result,
    {{ ledger_seq_now() }} as ledger_seq
from opportunities
left join renewal_candidates
    on opportunities.insurer_code = renewal_candidates.expiring_insurer_code
    and opportunities.policy_no = renewal_candidates.expiring_policy_no
    and renewal_candidates.candidate_rank = 1
left join lost_reasons
    on opportunities.insurer_code = lost_reasons.insurer_code
    and opportunities.policy_no = lost_reasons.policy_no
left join first_contacts
    on opportunities.insurer_code = first_contacts.insurer_code
    and opportunities.policy_no = first_contacts.policy_no
left join won_back
    on opportunities.insurer_code = won_back.insurer_code
    and opportunities.policy_no = won_back.policy_no
left join {{ ref('stg_dms__staff') }} as sellers on opportunities.staff_id = sellers.staff_id
