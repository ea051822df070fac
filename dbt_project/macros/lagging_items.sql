{#
  Lagging items as a ledger (PDCA, S0): an item opens the first week its metric lags, stays open while it lags and is
  resolved the first week it is back on target; it is due two weeks after it opened (seed insurance_parameters).
  Status: new (the week it opened), open, overdue (past its due week, still lagging), resolved.
#}
{% macro lagging_item_status(is_lagging, week_start, opened_week, due_week) -%}
    case
        when not {{ is_lagging }} then 'resolved'
        when {{ week_start }} = {{ opened_week }} then 'new'
        when {{ week_start }} > {{ due_week }} then 'overdue'
        else 'open'
    end
{%- endmacro %}
