{{ config(alias='fct_renewal_pool') }}
{{ bi_view(ref('fct_renewal_pool')) }}
