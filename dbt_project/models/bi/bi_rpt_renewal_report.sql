{{ config(alias='rpt_renewal_report') }}
{{ bi_view(ref('rpt_renewal_report')) }}
