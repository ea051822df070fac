{{ config(alias='fct_premium_monthly') }}
{{ bi_view(ref('fct_premium_monthly')) }}
