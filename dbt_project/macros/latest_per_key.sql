{#
  Overlapping delta exports: the same natural key can arrive in several files, possibly corrected.
  The newest export wins (then the later batch, then the later row of the same file).
#}
{% macro latest_per_key(key_columns) -%}
    row_number() over (
        partition by {{ key_tuple(key_columns, in_parentheses=false) }}
        order by _export_date desc, _batch_id desc, _row_number desc
    ) = 1
{%- endmacro %}
