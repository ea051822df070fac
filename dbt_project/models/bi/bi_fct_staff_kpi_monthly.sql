{{ config(alias='fct_staff_kpi_monthly') }}
{{ bi_view(ref('fct_staff_kpi_monthly')) }}
