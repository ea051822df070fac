{#
  Status words of the exports that business rules test, each written once (docs blocks rule_new_car_penetration and
  rule_renewal_opportunity name them).
#}

{# DMS 订单状态 of a car handed over to its buyer: a delivery (int_sales_orders_delivered). #}
{% macro delivered_status() -%}
    '已交车'
{%- endmacro %}

{# DMS 跟进结果 of a follow-up that records the renewal as lost (战败), with its 战败原因. #}
{% macro lost_result() -%}
    '战败'
{%- endmacro %}

{# DMS 跟进结果 of a follow-up that sent a quote (已报价): the opportunity's quoted date. #}
{% macro quoted_result() -%}
    '已报价'
{%- endmacro %}
