{{ config(alias='rpt_ownership_exceptions') }}
{{ bi_view(ref('rpt_ownership_exceptions')) }}
