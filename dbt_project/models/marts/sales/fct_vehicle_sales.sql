{{
    config(
        materialized='incremental',
        unique_key=['order_no'],
        indexes=[{'columns': ['order_no'], 'unique': true}, {'columns': ['ledger_seq']}],
        post_hook="{{ record_watermark() }}"
    )
}}

-- New-vehicle sales orders (latest state), with whether a delivered car was insured by the group.
--
-- Incremental per order: a daily run rewrites the orders staging wrote since its last build, and the delivered
-- orders whose insured flag int_deliveries_insured now gives otherwise than the row here (a policy signed, moved to
-- another VIN or cancelled); an order never leaves staging but with a batch held by hand, which rebuilds in full.
with
{% if is_incremental() -%}
affected_orders as (

    select changed.order_no
    from {{ ref('stg_dms__sales_orders') }} as changed
    where {{ is_changed('changed') }}
    union
    select insured.order_no
    from {{ ref('int_deliveries_insured') }} as insured
    inner join {{ this }} as listed on insured.order_no = listed.order_no
    where insured.is_insured_here is distinct from listed.is_insured_here

),

{% endif -%}
sales as (

    select * from {{ ref('stg_dms__sales_orders') }}
    {% if is_incremental() -%}
    where order_no in (select affected_orders.order_no from affected_orders)
    {%- endif %}

)

select
    sales.order_no,
    sales.store_code,
    sales.staff_id,
    sales.customer_id,
    sales.vin,
    sales.is_nev,
    sales.list_price,
    sales.deal_price,
    sales.payment_method,
    sales.order_date,
    sales.delivery_date,
    sales.order_status,
    coalesce(insured.is_insured_here, false) as is_insured_here,
    {{ ledger_seq_now() }} as ledger_seq
from sales
left join {{ ref('int_deliveries_insured') }} as insured on sales.order_no = insured.order_no
