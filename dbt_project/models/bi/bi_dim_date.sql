{{ config(alias='dim_date') }}
{{ bi_view(ref('dim_date')) }}
