{{ config(alias='dim_customer') }}
{{ bi_view(ref('dim_customer')) }}
