{#
  Row-level security for store managers, on every mart that holds store-scoped rows (a post-hook of every mart,
  so a new mart is covered without an edit here): members of store_manager see only the rows of the stores
  listed for them in ops.store_managers; bi_reader, finance and insurance_staff see every row.
  - a store_code column: the row's own store;
  - else the row's policy_no, vin or customer_id (any that the mart has): the row is visible when that policy,
    vehicle or customer belongs to one of the manager's stores (ops.managed_keys, pipeline/bootstrap.sql);
  - a mart with none of these columns holds no store-scoped rows (calendar, parameters) and gets no policy.
  Runs as a post-hook because dbt recreates tables (and their policies) on each build.
#}
{% macro store_row_security() -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- set rule = store_rows_rule(columns, 'current_user') -%}
    {%- if this.type != 'view' and rule -%}
        alter table {{ this }} enable row level security;
        drop policy if exists store_manager_rows on {{ this }};
        create policy store_manager_rows on {{ this }} for select to store_manager using ({{ rule }});
        drop policy if exists all_rows on {{ this }};
        create policy all_rows on {{ this }} for select to bi_reader, finance, insurance_staff using (true);
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#
  The one rule of a store manager's rows, for a relation with these columns (empty when it holds no store-scoped
  rows): the policies above, and the views of schema bi (macros/bi.sql), which run with their owner's rights and so
  apply it themselves for the calling login.
#}
{% macro store_rows_rule(columns, login) -%}
    {%- set keys = ['policy_no', 'vin', 'customer_id'] | select('in', columns) | list -%}
    {%- if 'store_code' in columns -%}
        store_code in (select store_code from ops.store_managers where role_name = {{ login }})
    {%- else -%}
        {%- set rules = [] -%}
        {%- for key in keys -%}
            {%- do rules.append(key ~ " in (select ops.managed_keys('" ~ key ~ "'))") -%}
        {%- endfor -%}
        {{ rules | join(' or ') }}
    {%- endif -%}
{%- endmacro %}
