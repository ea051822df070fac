{{ config(alias='rpt_plan_tracking_monthly') }}
{{ bi_view(ref('rpt_plan_tracking_monthly')) }}
