{{ config(alias='rpt_renewal_funnel_staff_monthly') }}
{{ bi_view(ref('rpt_renewal_funnel_staff_monthly')) }}
