{{ config(alias='dim_coverage') }}
{{ bi_view(ref('dim_coverage')) }}
