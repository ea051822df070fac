{#
  Half-year plan (S0): a metric is `lagging` when its value is below the low end of its band (seed plan_targets),
  else `on_track`; a month without a value has no status.
#}
{% macro plan_status(value, target_low) -%}
    case
        when {{ value }} is null then null
        when {{ value }} < {{ target_low }} then 'lagging'
        else 'on_track'
    end
{%- endmacro %}

{#
  An ID number with the shape of a unified social credit code (统一社会信用代码): 18 characters, digits and upper-case
  letters, and not a personal ID number (17 digits and a digit or X, whose characters 7-14 are a birth date).
#}
{% macro is_unified_social_credit_code(id_number) -%}
    (
        {{ id_number }} ~ '^[0-9A-Z]{18}$'
        and not (
            {{ id_number }} ~ '^[0-9]{17}[0-9X]$'
            and substr({{ id_number }}, 7, 8) ~ '^(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])$'
        )
    )
{%- endmacro %}
