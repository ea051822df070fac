{{ config(alias='dim_vehicle') }}
{{ bi_view(ref('dim_vehicle')) }}
