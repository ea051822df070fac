{#
  A rate of the marts: the share of the group's rows that meet `condition`, as a fraction in 0..1 rounded to
  4 places (numeric(9,4)). Used by every monthly rate report so they all round the same way.
#}
{% macro share(condition) -%}
    round(count(*) filter (where {{ condition }})::numeric / count(*), 4)::numeric(9, 4)
{%- endmacro %}
