{#
  Time windows of the business rules (rules catalogue: dbt_project/docs/rules_catalogue.md), each written once.
#}

{# In the 12 months up to and including the run's as-of date: customer spend, claims and department activity. #}
{% macro in_12_months_to_as_of(date_expression) -%}
    ({{ date_expression }} > {{ as_of_date() }} - interval '12 months' and {{ date_expression }} <= {{ as_of_date() }})
{%- endmacro %}

{# A policy signed within new_car_window_days (seed insurance_parameters) of its car's delivery, either side. #}
{% macro signed_within_new_car_window(sign_date, delivery_date) -%}
    abs({{ sign_date }} - {{ delivery_date }}) <= {{ insurance_parameter('new_car_window_days') }}::int
{%- endmacro %}
