{{ config(alias='rpt_churn_analysis') }}
{{ bi_view(ref('rpt_churn_analysis')) }}
