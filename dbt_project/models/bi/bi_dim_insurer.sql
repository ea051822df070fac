{{ config(alias='dim_insurer') }}
{{ bi_view(ref('dim_insurer')) }}
