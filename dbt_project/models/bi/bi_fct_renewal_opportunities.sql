{{ config(alias='fct_renewal_opportunities') }}
{{ bi_view(ref('fct_renewal_opportunities')) }}
