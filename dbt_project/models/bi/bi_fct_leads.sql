{{ config(alias='fct_leads') }}
{{ bi_view(ref('fct_leads')) }}
