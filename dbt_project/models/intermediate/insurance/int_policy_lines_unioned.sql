-- The three insurer layouts as one list of coverage lines: policy × transaction × coverage.
-- PICC packs commercial coverages in 险别明细, PAIC has a row per coverage, CPIC has a column per coverage.
-- Vehicle tax rides on the first line of its row so that it is counted exactly once.
-- Incremental: a daily run rewrites the transactions whose staged rows changed (macros/incremental.sql).
{{ config(materialized='incremental', unique_key=['insurer_code', 'policy_no', 'txn_no'],
          indexes=[{'columns': ['ledger_seq']}, {'columns': ['insurer_code', 'policy_no', 'txn_no']}, {'columns': ['vin']},
                   {'columns': ['sign_date']}],
          post_hook="{{ record_watermark() }}") }}

with picc as (

    select
        'PICC' as insurer_code,
        p.policy_no,
        p.endorsement_no,
        case p.change_type when '批改' then 'endorsement' when '退保' then 'cancellation' else 'issue' end as txn_type,
        case when p.previous_policy_no is not null then 'renewal' end as insurer_business_type,
        case
            when p.policy_class = '交强险' then '交强险'
            else split_part(item.value, ':', 1)
        end as coverage_source_name,
        case
            when p.policy_class = '交强险' or p.coverage_detail is null then p.premium
            else replace(split_part(item.value, ':', 2), ',', '')::numeric(14, 2)
        end as premium,
        case when coalesce(item.line_no, 1) = 1 then coalesce(p.vehicle_tax, 0) else 0 end as vehicle_tax,
        p.commission_rate,
        p.sign_date,
        p.start_date,
        p.end_date,
        p.vin,
        p.plate,
        p.store_code,
        p.staff_id,
        p.previous_policy_no,
        p.insured_id_number,
        p.batch_id,
        p.ledger_seq
    from {{ ref('stg_insurer_picc__policies') }} as p
    left join lateral regexp_split_to_table(p.coverage_detail, ';') with ordinality as item (value, line_no)
        on p.policy_class = '商业险'
    where {{ is_changed('p') }}

),

paic as (

    select
        'PAIC' as insurer_code,
        policy_no,
        endorsement_no,
        case business_type when '批改' then 'endorsement' when '退保' then 'cancellation' else 'issue' end as txn_type,
        case business_type when '新保' then 'new' when '续保' then 'renewal' when '转保' then 'transfer' end
            as insurer_business_type,
        coverage_name as coverage_source_name,
        premium,
        coalesce(vehicle_tax, 0) as vehicle_tax,
        commission_rate,
        sign_date,
        start_date,
        end_date,
        vin,
        plate,
        store_code,
        staff_id,
        null::text as previous_policy_no,
        insured_id_number,
        batch_id,
        ledger_seq
    from {{ ref('stg_insurer_paic__policy_lines') }}
    {% if is_incremental() -%}
    -- a changed coverage line rewrites its whole transaction, so every line of it is read again
    where
        (policy_no, coalesce(endorsement_no, '')) in (
            select
                changed.policy_no,
                coalesce(changed.endorsement_no, '') as endorsement_no
            from {{ ref('stg_insurer_paic__policy_lines') }} as changed
            where {{ is_changed('changed') }}
        )
    {%- endif %}

),

cpic as (

    select
        'CPIC' as insurer_code,
        c.policy_no,
        c.endorsement_no,
        case c.txn when 'END' then 'endorsement' when 'CAN' then 'cancellation' else 'issue' end as txn_type,
        case c.txn when 'NEW' then 'new' when 'REN' then 'renewal' end as insurer_business_type,
        coverage_line.coverage_source_name,
        coalesce(coverage_line.premium, 0) as premium,
        case when coverage_line.line_no = 1 then coalesce(c.vehicle_tax, 0) else 0 end as vehicle_tax,
        c.commission_rate,
        c.sign_date,
        c.start_date,
        c.end_date,
        c.vin,
        c.plate,
        c.store_code,
        c.staff_id,
        null::text as previous_policy_no,
        c.insured_id_number,
        c.batch_id,
        c.ledger_seq
    from {{ ref('stg_insurer_cpic__policies') }} as c
    cross join
        lateral (
            select
                wide.coverage_source_name,
                wide.premium,
                row_number() over (order by wide.column_order) as line_no
            from (
                values
                ('交强险', c.ctp_premium, 1),
                ('车损险', c.vd_premium, 2),
                ('三者险', c.tpl_premium, 3),
                ('车上人员险', c.seat_premium, 4),
                ('附加险', c.rider_premium, 5)
            ) as wide (coverage_source_name, premium, column_order)
            where coalesce(wide.premium, 0) <> 0
                or (wide.column_order = 1 and coalesce(c.vehicle_tax, 0) <> 0)
        ) as coverage_line
    where {{ is_changed('c') }}

),

unioned as (

    select * from picc
    union all
    select * from paic
    union all
    select * from cpic

)

select
    unioned.insurer_code,
    unioned.policy_no,
    coalesce(unioned.endorsement_no, '0') as txn_no,
    unioned.txn_type,
    unioned.insurer_business_type,
    unioned.coverage_source_name,
    coalesce(
        aliases.coverage_code,
        case
            when unioned.coverage_source_name is null or unioned.coverage_source_name = '' then 'COMM_UNSPLIT'
            else 'UNMAPPED'
        end
    ) as coverage_code,
    unioned.premium::numeric(14, 2) as premium,
    unioned.vehicle_tax::numeric(14, 2) as vehicle_tax,
    unioned.commission_rate,
    unioned.sign_date,
    unioned.start_date,
    unioned.end_date,
    unioned.vin,
    unioned.plate,
    unioned.store_code,
    unioned.staff_id,
    unioned.previous_policy_no,
    unioned.insured_id_number,
    unioned.batch_id,
    unioned.ledger_seq
from unioned
left join {{ ref('coverage_aliases') }} as aliases
    -- PICC writes the sum insured into the name: 三者险(100万)
    on aliases.source_name = regexp_replace(trim(unioned.coverage_source_name), '\(\s*[0-9.]+\s*万\s*\)', '')
