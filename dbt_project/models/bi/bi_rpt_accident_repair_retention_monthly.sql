{{ config(alias='rpt_accident_repair_retention_monthly') }}
{{ bi_view(ref('rpt_accident_repair_retention_monthly')) }}
