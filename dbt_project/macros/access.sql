{#
  Row-level security for store managers: on every mart with a store_code column, members of store_manager see
  only the stores listed for them in ops.store_managers; bi_reader, finance and insurance_staff see every row.
  Runs as a post-hook because dbt recreates tables (and their policies) on each build.
#}
{% macro store_row_security() -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- if 'store_code' in columns and this.type != 'view' -%}
        alter table {{ this }} enable row level security;
        drop policy if exists store_manager_rows on {{ this }};
        create policy store_manager_rows on {{ this }} for select to store_manager
            using (store_code in (select store_code from ops.store_managers where role_name = current_user));
        drop policy if exists all_rows on {{ this }};
        create policy all_rows on {{ this }} for select to bi_reader, finance, insurance_staff using (true);
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#
  bi_reader reads the transaction fact without its commission detail (a column-level grant); finance reads all.
#}
{% macro grant_without_commission(role) -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | reject('equalto', 'commission_amount') | list -%}
    grant select ({{ columns | join(', ') }}) on {{ this }} to {{ role }}
{%- endmacro %}
