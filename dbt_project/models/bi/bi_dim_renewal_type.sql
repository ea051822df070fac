{{ config(alias='dim_renewal_type') }}
{{ bi_view(ref('dim_renewal_type')) }}
