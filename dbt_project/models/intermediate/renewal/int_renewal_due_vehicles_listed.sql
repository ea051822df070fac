{{
    config(
        materialized='incremental',
        unique_key=['vin'],
        indexes=[{'columns': ['vin'], 'unique': true}],
        pre_hook="{{ keep_affected_keys(due_list_affected_vins()) }}",
        post_hook=[
            "{{ record_watermark() }}",
            "{{ delete_tombstones('pool_type') }}",
            "{{ refresh_as_of_columns({
                'days_to_expiry': 'due_date - ' ~ as_of_date(),
                'contact_window_days': contact_window_days('refreshed.due_date'),
            }) }}",
        ]
    )
}}

-- depends_on: {{ ref('int_policies_aggregated') }}
-- depends_on: {{ ref('stg_dms__sales_orders') }}
-- 应续清单 over the whole renewal pool (docs block renewal_due_lists): group_renewal, sold_not_insured and
-- serviced_not_insured vehicles due from as_of − 30 (expired, in grace) to as_of + 60, and lapsed vehicles due from
-- as_of − 90 to as_of − 31 (win-back calls), with days to expiry, the contact dates at 60/30/15 days before the
-- due date (seed due_list_windows), the window the vehicle is in now, and the vehicle's last follow-up.
-- Assigned as in the pool: the seller / sales consultant / service advisor while employed, else the store team.
--
-- Incremental per vehicle (macros/incremental_keys.sql, docs block renewal_pool_incremental): a daily run lists again
-- the VINs whose pool row in the window differs from the row listed (entered or left the window, or changed in the
-- pool), whose follow-ups changed or were dated on the days the as-of date passed, whose repair orders, sales orders
-- or DMS customer changed, whose policies or opportunities were rewritten. A vehicle that left the list gets a row
-- with only its VIN, deleted after it replaced the old row; the days to expiry and the contact window are set again
-- on every row the date moved (post-hook).
with
in_window as (

    {{ due_list_window_rows() }}

),

{% if is_incremental() -%}
affected_vins as (

    -- computed once in the pre-hook (macros/incremental_keys.sql, due_list_affected_vins) into an analyzed
    -- temporary table: a CTE's row estimate made the planner scan whole tables for a few thousand vehicles
    select vin from {{ affected_keys() }}

),

{% endif -%}
due as (

    select * from in_window
    where {{ is_affected_vin('vin') }}

),

opportunities as (

    select
        expiring_insurer_code,
        expiring_policy_no,
        first_contact_date
    from {{ ref('int_renewal_opportunities_matched') }}
    where {{ is_affected_vin('vin') }}

),

last_followups as (

    select distinct on (followups.vin)
        followups.vin,
        followups.followup_date,
        followups.result,
        followups.staff_id
    from {{ ref('stg_dms__followups') }} as followups
    where followups.followup_date <= {{ as_of_date() }} and {{ is_affected_vin('followups.vin') }}
    order by followups.vin asc, followups.followup_date desc, followups.record_no desc

),

-- the contact dates of seed due_list_windows (60, 30, 15 days before the due date)
contact_days as (

    select
        max(window_days) as first_days,
        (array_agg(window_days order by window_days desc))[2] as second_days,
        min(window_days) as last_days
    from {{ ref('due_list_windows') }}

),

-- for vehicles without a policy of the group: the DMS customer of its latest sale, the plate of its latest repair order
dms_contacts as (

    select
        sales.vin,
        customers.customer_name,
        customers.phone
    from {{ ref('int_vehicles_attributed') }} as sales
    inner join {{ ref('stg_dms__customers') }} as customers on sales.customer_id = customers.customer_id
    where {{ is_affected_vin('sales.vin') }}

),

repair_order_plates as (

    select distinct on (vin)
        vin,
        plate
    from {{ ref('stg_aftersales__repair_orders') }}
    where plate is not null and {{ is_affected_vin('vin') }}
    order by vin asc, opened_date desc, ro_no desc

),

latest_contact as (

    select distinct on (contacts.insurer_code, contacts.policy_no)
        contacts.insurer_code,
        contacts.policy_no,
        contacts.plate,
        contacts.insured_name,
        contacts.insured_phone,
        contacts.commercial_premium
    from (
        select
            'PICC' as insurer_code,
            policy_no,
            plate,
            insured_name,
            insured_phone,
            exported_on,
            case when policy_class = '商业险' then premium end as commercial_premium
        from {{ ref('stg_insurer_picc__policies') }}
        union all
        select
            'PAIC' as insurer_code,
            policy_no,
            plate,
            insured_name,
            insured_phone,
            exported_on,
            null as commercial_premium
        from {{ ref('stg_insurer_paic__policy_lines') }}
        union all
        select
            'CPIC' as insurer_code,
            policy_no,
            plate,
            insured_name,
            insured_phone,
            exported_on,
            null as commercial_premium
        from {{ ref('stg_insurer_cpic__policies') }}
    ) as contacts
    {%- if is_incremental() %}
    where (contacts.insurer_code, contacts.policy_no) in (select due.expiring_insurer_code, due.expiring_policy_no from due)
    {%- endif %}
    -- ties (several rows of one policy in one export) broken on every column, so a rebuild gives the same list
    order by
        contacts.insurer_code asc,
        contacts.policy_no asc,
        contacts.exported_on desc,
        contacts.commercial_premium desc nulls last,
        contacts.plate asc,
        contacts.insured_phone asc,
        contacts.insured_name asc

)

select
    due.expiring_insurer_code as insurer_code,
    due.expiring_policy_no,
    due.vin,
    coalesce(contact.plate, repair_order_plates.plate) as plate,
    due.store_code,
    due.pool_type,
    due.assignment_reason,
    due.due_date,
    due.due_date - {{ as_of_date() }} as days_to_expiry,
    {{ contact_window_days('due.due_date') }} as contact_window_days,
    due.due_date - contact_days.first_days as contact_60_date,
    due.due_date - contact_days.second_days as contact_30_date,
    due.due_date - contact_days.last_days as contact_15_date,
    due.expiring_commercial_premium,
    due.candidate_staff_id as seller_staff_id,
    due.assigned_staff_id,
    due.store_code || ' 保险部' as assigned_team,
    opportunities.first_contact_date,
    last_followups.followup_date as last_followup_date,
    last_followups.result as last_followup_result,
    coalesce(contact.insured_name, dms_contacts.customer_name) as insured_name,
    coalesce(contact.insured_phone, dms_contacts.phone) as insured_phone,
    {{ ledger_seq_now() }} as ledger_seq
from due
cross join contact_days
left join opportunities
    on due.expiring_insurer_code = opportunities.expiring_insurer_code
    and due.expiring_policy_no = opportunities.expiring_policy_no
left join latest_contact as contact
    on due.expiring_insurer_code = contact.insurer_code and due.expiring_policy_no = contact.policy_no
left join last_followups on due.vin = last_followups.vin
left join dms_contacts on due.vin = dms_contacts.vin
left join repair_order_plates on due.vin = repair_order_plates.vin
{%- if is_incremental() %}
union all
-- an affected vehicle that left the list: its VIN alone, to replace its old row (deleted by delete_tombstones)
{{ rows_of_leaving_vins('due') }}
{%- endif %}
