{{ config(alias='fct_followups') }}
{{ bi_view(ref('fct_followups')) }}
