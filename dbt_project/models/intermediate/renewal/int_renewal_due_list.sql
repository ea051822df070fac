-- 应续清单: vehicles whose main policy expires in the next 60 days (from the run's as-of date) and is not
-- renewed yet, with days to expiry, the contact dates at 60/30/15 days before expiry (seed due_list_windows)
-- and the window the vehicle is in now. Assigned: the seller of the expiring policy while employed, else the
-- store's insurance department.
with due as (

    select *
    from {{ ref('int_renewal_opportunities_matched') }}
    where outcome = 'pending'
        and due_date between {{ as_of_date() }} and {{ as_of_date() }} + 60

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
    contact.plate,
    due.store_code,
    due.due_date,
    due.due_date - {{ as_of_date() }} as days_to_expiry,
    (
        select min(windows.window_days)
        from {{ ref('due_list_windows') }} as windows
        where windows.window_days >= due.due_date - {{ as_of_date() }}
    ) as contact_window_days,
    due.due_date - 60 as contact_60_date,
    due.due_date - 30 as contact_30_date,
    due.due_date - 15 as contact_15_date,
    due.expiring_commercial_premium,
    due.staff_id as seller_staff_id,
    case when staff.left_date is null or staff.left_date >= {{ as_of_date() }} then due.staff_id end
        as assigned_staff_id,
    due.store_code || ' 保险部' as assigned_team,
    due.first_contact_date,
    contact.insured_name,
    contact.insured_phone
from due
left join {{ ref('stg_dms__staff') }} as staff on due.staff_id = staff.staff_id
left join latest_contact as contact
    on due.expiring_insurer_code = contact.insurer_code and due.expiring_policy_no = contact.policy_no
