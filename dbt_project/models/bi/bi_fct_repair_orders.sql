{{ config(alias='fct_repair_orders') }}
{{ bi_view(ref('fct_repair_orders')) }}
