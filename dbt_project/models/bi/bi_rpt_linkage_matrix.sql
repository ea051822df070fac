{{ config(alias='rpt_linkage_matrix') }}
{{ bi_view(ref('rpt_linkage_matrix')) }}
