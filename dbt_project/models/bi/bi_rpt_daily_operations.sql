{{ config(alias='rpt_daily_operations') }}
{{ bi_view(ref('rpt_daily_operations')) }}
