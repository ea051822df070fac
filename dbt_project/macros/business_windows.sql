{#
  Time windows of the business rules (rules catalogue: dbt_project/docs/rules_catalogue.md), each written once.
#}

{#
  In the 12 months up to and including the run's as-of date: customer spend, claims and department activity.
  `as_of` names another day (an incremental model asks whether a row was in the window of its last build).
#}
{% macro in_12_months_to_as_of(date_expression, as_of=none) -%}
    {%- set as_of = as_of or as_of_date() -%}
    ({{ date_expression }} > {{ as_of }} - interval '12 months' and {{ date_expression }} <= {{ as_of }})
{%- endmacro %}

{# A policy signed within new_car_window_days (seed insurance_parameters) of its car's delivery, either side. #}
{% macro signed_within_new_car_window(sign_date, delivery_date) -%}
    abs({{ sign_date }} - {{ delivery_date }}) <= {{ insurance_parameter('new_car_window_days') }}::int
{%- endmacro %}
