{{ config(alias='dim_store') }}
{{ bi_view(ref('dim_store')) }}
