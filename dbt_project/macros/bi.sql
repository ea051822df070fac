{#
  BI's published relations (schema bi, docs block bi_views): each a view of one mart with every column BI may
  see, i.e. the mart's columns but commission figures and phone numbers (finance's and the insurance staff's
  only): a column whose name holds one of these words is left out. bi_reader reads these views and nothing else,
  so `select *` works on every relation it is granted. Security barrier views owned by dbt's login; as they read the
  marts with their owner's rights, a store manager's login (Superset's, through these views too) gets the rows of
  its stores by the same rule as the marts' row-level security (macro store_rows_rule).
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
        {%- set columns = adapter.get_columns_in_relation(mart) | map(attribute='name') | list -%}
        {%- set rule = store_rows_rule(columns, 'session_user') -%}
        select {{ shown | join(',\n    ') }}
        from {{ mart }}
        {%- if rule %}
        -- a direct member of store_manager (pg_has_role would count a superuser as one, too)
        where session_user not in (
            select member.rolname from pg_auth_members as m
            inner join pg_roles as member on m.member = member.oid
            inner join pg_roles as grp on m.roleid = grp.oid
            where grp.rolname = 'store_manager'
        ) or ({{ rule }})
        {%- endif -%}
    {%- else -%}
        select * from {{ mart }}
    {%- endif -%}
{%- endmacro %}

{% macro security_barrier() -%}
    alter view {{ this }} set (security_barrier = true)
{%- endmacro %}
