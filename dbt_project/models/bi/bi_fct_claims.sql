{{ config(alias='fct_claims') }}
{{ bi_view(ref('fct_claims')) }}
