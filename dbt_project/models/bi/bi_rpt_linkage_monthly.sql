{{ config(alias='rpt_linkage_monthly') }}
{{ bi_view(ref('rpt_linkage_monthly')) }}
