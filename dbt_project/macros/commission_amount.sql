{#
  Commission (手续费) of one coverage line = premium excluding VAT × commission rate.
  Premium includes VAT at the rate in seed `insurance_parameters` (6%); vehicle tax never earns commission.
  Rounded to the cent per coverage line.
#}
{% macro commission_amount(premium, rate) -%}
    round({{ premium }} / (1 + {{ insurance_parameter('premium_vat_rate') }}) * {{ rate }}, 2)
{%- endmacro %}

{% macro insurance_parameter(name) -%}
    (select value::numeric from {{ ref('insurance_parameters') }} where parameter = '{{ name }}')
{%- endmacro %}
