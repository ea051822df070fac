{{ config(alias='rpt_first_service_due_list') }}
{{ bi_view(ref('rpt_first_service_due_list')) }}
