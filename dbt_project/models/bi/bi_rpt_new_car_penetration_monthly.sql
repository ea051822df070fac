{{ config(alias='rpt_new_car_penetration_monthly') }}
{{ bi_view(ref('rpt_new_car_penetration_monthly')) }}
