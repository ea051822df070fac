{{ config(alias='rpt_load_warnings') }}
{{ bi_view(ref('rpt_load_warnings')) }}
