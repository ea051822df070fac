{{ config(alias='rpt_lagging_items') }}
{{ bi_view(ref('rpt_lagging_items')) }}
