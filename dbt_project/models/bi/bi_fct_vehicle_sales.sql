{{ config(alias='fct_vehicle_sales') }}
{{ bi_view(ref('fct_vehicle_sales')) }}
