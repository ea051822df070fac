{{ config(alias='rpt_customer_register') }}
{{ bi_view(ref('rpt_customer_register')) }}
