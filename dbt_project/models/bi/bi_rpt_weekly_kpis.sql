{{ config(alias='rpt_weekly_kpis') }}
{{ bi_view(ref('rpt_weekly_kpis')) }}
