{# 138****5678: enough for a person to recognise a number, not enough to call it. #}
{% macro mask_phone(column) -%}
    case when {{ column }} is null then null
         when length({{ column }}) >= 7 then left({{ column }}, 3) || '****' || right({{ column }}, 4)
         else '****' end
{%- endmacro %}

{# 张** : the family name stays, the rest is masked. #}
{% macro mask_name(column) -%}
    case when {{ column }} is null then null
         else left({{ column }}, 1) || repeat('*', greatest(char_length({{ column }}) - 1, 1)) end
{%- endmacro %}
