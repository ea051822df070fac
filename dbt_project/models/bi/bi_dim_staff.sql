{{ config(alias='dim_staff') }}
{{ bi_view(ref('dim_staff')) }}
