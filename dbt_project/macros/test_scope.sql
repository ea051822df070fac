{#
  Which rows a data test reads (docs block test_policy): dbt wraps the tested relation of every generic test in
  this macro (dbt's own version applies the test's `where` config; so does this one).

  The daily build sets DW_DBT_TEST_SCOPE=daily (pipeline/steps.py dbt_build, not on a full rebuild). Then a test of a
  model that stamps its rows with `ledger_seq` (stamps_written_rows) and has a watermark in ops.dbt_watermarks reads
  only the rows the build wrote: `ledger_seq` above the change number the model had been built up to before this
  build (`previous_change_seq`, kept by record_watermark). Any other model (a table model, rewritten whole on every
  build; an incremental one without the column) is tested whole. Without the variable (dbt build / dbt test by
  hand, a full rebuild, the weekly suite `steps.whole_table_tests`) every test reads whole tables.

  The variable is read only when a test executes, like DW_DBT_AS_OF in as_of_date(): read at parse time it would
  make dbt re-parse every test whenever it changes.
#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- if execute and env_var('DW_DBT_TEST_SCOPE', '') == 'daily' and stamps_written_rows(relation) -%}
        {%- do conditions.append(written_since_previous_build(relation.identifier)) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') as dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#
  Whether the tested relation is an incremental model that stamps the rows it writes with `ledger_seq` (every
  incremental model but those configured `meta: {rows_stamped: false}`). Read from the test's parents in the graph,
  not from the database: a catalogue query per test was a tenth of a small build's time.
  tests/test_metrics_scenario.py checks the rule against the built tables.
#}
{% macro stamps_written_rows(relation) -%}
    {%- for unique_id in model.depends_on.nodes -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node and node.resource_type == 'model' and (node.alias or node.name) == relation.identifier
            and node.schema == relation.schema -%}
            {%- do return(node.config.materialized == 'incremental' and node.config.meta.get('rows_stamped', true)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return(false) -%}
{%- endmacro %}

{# The rows a build of the model wrote: above its watermark before that build (every row when it has none). #}
{% macro written_since_previous_build(model_name) -%}
    ledger_seq > coalesce(
        (select previous_change_seq from ops.dbt_watermarks where model = '{{ model_name }}'), -1
    )
{%- endmacro %}
