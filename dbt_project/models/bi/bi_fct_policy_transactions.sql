{{ config(alias='fct_policy_transactions') }}
{{ bi_view(ref('fct_policy_transactions')) }}
