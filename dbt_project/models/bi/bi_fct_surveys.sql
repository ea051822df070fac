{{ config(alias='fct_surveys') }}
{{ bi_view(ref('fct_surveys')) }}
