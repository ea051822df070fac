{#
  A date written in a text cell the way the exports write dates (2025-03-07, 2025/3/7, 2025.3.7, 20250307), cast
  to a date; anything else (a word, an impossible day such as 2025-02-30) is null, never an error, so the row
  that carries it still loads. Used for optional cells that are kept as text in raw (aftersales_ro's 保险到期日).
#}
{% macro export_date_from_text(column) -%}
    case
        when {{ column }} ~ '^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$'
            and pg_input_is_valid(translate({{ column }}, '/.', '--'), 'date')
            then translate({{ column }}, '/.', '--')::date
        when {{ column }} ~ '^\d{8}$' and pg_input_is_valid({{ column }}, 'date')
            then {{ column }}::date
    end
{%- endmacro %}
