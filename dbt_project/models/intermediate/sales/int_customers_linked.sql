{{
    config(
        materialized='incremental',
        unique_key=['customer_key'],
        indexes=[{'columns': ['customer_key'], 'unique': true}, {'columns': ['ledger_seq']}],
        pre_hook="{{ delete_rows_with_keys(['customer_key'], linkage_customer_keys_affected()) }}",
        post_hook="{{ record_watermark() }}"
    )
}}

-- depends_on: {{ ref('int_policies_aggregated') }}
-- depends_on: {{ ref('stg_dms__customers') }}
-- depends_on: {{ ref('stg_insurer_picc__policies') }}
-- depends_on: {{ ref('stg_insurer_paic__policy_lines') }}
-- depends_on: {{ ref('stg_insurer_cpic__policies') }}
-- 项目间联动, per customer: the customers active in the 12 months up to the as-of date, with their home store (the
-- store of most of their activity) and the departments they used (insurance: a policy signed; sales: a car ordered;
-- after-sales: a repair order). A vehicle the group never sold counts as its own customer (keyed 'VIN:' || VIN).
-- The vehicle's owner: the customer of the order that speaks for it (int_vehicles_attributed, the one owner rule).
--
-- Incremental per customer (macros/incremental_customers.sql, linkage_customer_keys_affected): a daily run
-- recomputes the owners, old and new, and the VIN keys of the VINs whose policies, sales orders or repair orders
-- changed (every version) or that have activity the as-of date moved into or out of the 12 months; the pre-hook
-- deletes those keys first, so a customer with no activity left in the window leaves.
with
{% if is_incremental() -%}
affected_keys as (

    {{ linkage_customer_keys_affected() }}

),

-- every vehicle of an affected customer: its owned VINs, or the VIN itself for a vehicle without owner
affected_vins as (

    select owned.vin
    from {{ ref('int_vehicles_attributed') }} as owned
    inner join affected_keys on owned.customer_id = affected_keys.customer_key
    union
    select substr(affected_keys.customer_key, 5) as vin
    from affected_keys
    where affected_keys.customer_key like 'VIN:%'

),

{% endif -%}
owners as (

    select
        vin,
        customer_id
    from {{ ref('int_vehicles_attributed') }}

),

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

),

keyed as (

    select
        activity.*,
        coalesce(owners.customer_id, 'VIN:' || activity.vin) as customer_key
    from activity
    left join owners on activity.vin = owners.vin
    where {{ in_12_months_to_as_of('activity.activity_date') }}

)

select
    keyed.customer_key,
    mode() within group (order by keyed.store_code) as store_code,
    bool_or(keyed.department = 'insurance') as used_insurance,
    bool_or(keyed.department = 'sales') as used_sales,
    bool_or(keyed.department = 'aftersales') as used_aftersales,
    {{ ledger_seq_now() }} as ledger_seq
from keyed
{% if is_incremental() -%}
where keyed.customer_key in (select affected_keys.customer_key from affected_keys)
{% endif -%}
group by keyed.customer_key
