{{ config(alias='rpt_renewal_rate_monthly') }}
{{ bi_view(ref('rpt_renewal_rate_monthly')) }}
