{{ config(alias='rpt_renewal_due_list') }}
{{ bi_view(ref('rpt_renewal_due_list')) }}
