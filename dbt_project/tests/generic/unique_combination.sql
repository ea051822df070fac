{#
  Primary-key test for a compound grain (dbt_utils is not installable offline, so we keep our own).
  A large incremental model whose key is guarded by a unique index (config `indexes`, unique: true) passes
  `enforced_by_unique_index=true`: PostgreSQL then refuses any duplicate at write time, so the test checks
  that the index is there and valid instead of grouping every row of the table on every daily run. The daily
  build hands a model with `ledger_seq` over as the rows it wrote (macros/test_scope.sql): the index is looked up
  on the table those rows are read from.
#}
{% test unique_combination(model, combination_of_columns, enforced_by_unique_index=false) %}
{% if enforced_by_unique_index %}
{%- set table = model if model is not string else modules.re.match('^\\(select \\* from (\\S+) where ', model).group(1) -%}
select 'no valid unique index on ({{ combination_of_columns | join(', ') }})' as problem
where not exists (
    select 1
    from pg_index as idx
    where idx.indrelid = '{{ table }}'::regclass
        and idx.indisunique
        and idx.indisvalid
        and (
            select array_agg(att.attname::text order by att.attname)
            from pg_attribute as att
            where att.attrelid = idx.indrelid and att.attnum = any(idx.indkey)
        ) = array[{% for column in combination_of_columns | sort %}'{{ column }}'{% if not loop.last %}, {% endif %}{% endfor %}]
        and array_length(idx.indkey, 1) = {{ combination_of_columns | length }}
)
{% else %}
select {{ combination_of_columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endif %}
{% endtest %}
