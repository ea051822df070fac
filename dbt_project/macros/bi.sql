{#
  BI's published relations (schema bi, docs block bi_views): each a view of one mart with every column BI may
  see, i.e. the mart's columns but commission figures and phone numbers (finance's and the insurance staff's
  only): a column whose name holds one of these words is left out. bi_reader reads these views and nothing else,
  so `select *` works on every relation it is granted. Security barrier views owned by dbt's login.
#}
{% macro bi_hidden_column_words() -%}
    {{ return(['commission', 'phone']) }}
{%- endmacro %}

{% macro bi_view(mart) -%}
    {%- if execute -%}
        {%- set shown = [] -%}
        {%- for column in adapter.get_columns_in_relation(mart) -%}
            {%- set hidden = [] -%}
            {%- for word in bi_hidden_column_words() if word in column.name | lower -%}
                {%- do hidden.append(word) -%}
            {%- endfor -%}
            {%- if not hidden -%}{%- do shown.append(adapter.quote(column.name)) -%}{%- endif -%}
        {%- endfor -%}
        select {{ shown | join(',\n    ') }}
        from {{ mart }}
    {%- else -%}
        select * from {{ mart }}
    {%- endif -%}
{%- endmacro %}

{% macro security_barrier() -%}
    alter view {{ this }} set (security_barrier = true)
{%- endmacro %}
