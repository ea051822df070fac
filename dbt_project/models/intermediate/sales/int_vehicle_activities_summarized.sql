{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        indexes=[{'columns': ['vin', 'store_code'], 'unique': true}, {'columns': ['ledger_seq']}],
        pre_hook=[
            "{{ keep_affected_keys(vins_of_activities_changed()) }}",
            "{{ delete_rows_with_keys(['vin'], 'select vin from ' ~ affected_keys()) }}",
        ],
        post_hook="{{ record_watermark() }}"
    )
}}

-- 项目间联动's activity of each vehicle in the 12 months up to the as-of date, per store that served it: how many
-- activities (a policy issued, a car ordered, a repair order opened) and which departments. rpt_linkage_matrix
-- groups these rows by the vehicle's owner (int_vehicles_attributed), so an owner change touches no row here.
--
-- Incremental per vehicle (macros/incremental_keys.sql): a daily run recomputes the VINs whose policies, sales
-- orders or repair orders changed (every version: a corrected VIN yields both) and those with an activity the as-of
-- date moved into or out of the 12 months (vins_of_activities_changed). A pre-hook deletes their rows first: a
-- vehicle with no activity left in the 12 months has no row.

with
{% if is_incremental() -%}
affected_vins as (

    select vin from {{ affected_keys() }}

),

{% endif -%}
activity as (

    select
        vin,
        store_code,
        'insurance' as department,
        sign_date as activity_date
    from {{ ref('int_policy_lines_unioned') }}
    where txn_type = 'issue' and {{ is_affected_vin('vin') }}
    union all
    select
        vin,
        store_code,
        'sales' as department,
        order_date as activity_date
    from {{ ref('stg_dms__sales_orders') }}
    where {{ is_affected_vin('vin') }}
    union all
    select
        vin,
        store_code,
        'aftersales' as department,
        opened_date as activity_date
    from {{ ref('stg_aftersales__repair_orders') }}
    where {{ is_affected_vin('vin') }}

)

select
    vin,
    store_code,
    count(*)::int as activities,
    bool_or(department = 'insurance') as used_insurance,
    bool_or(department = 'sales') as used_sales,
    bool_or(department = 'aftersales') as used_aftersales,
    {{ ledger_seq_now() }} as ledger_seq
from activity
where {{ in_12_months_to_as_of('activity_date') }}
group by vin, store_code
