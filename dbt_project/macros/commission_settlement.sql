{#
  Commission reconciliation (手续费对账): the status of one insurer × policy × transaction × class, first match wins
  (the order of seed commission_settlement_statuses): not_in_exports, matched, withheld, rate_mismatch,
  amount_mismatch, missing, unsettled.
#}
{#
  Arguments are boolean / count columns: in the exports; |settled − expected| within the tolerance (seed
  insurance_parameters.commission_match_tolerance); counts of settled and withheld statement rows; the settled
  rate differs from the exported one; the insurer has sent a statement for a month after the sign month.
#}
{% macro commission_settlement_status(in_exports, within_tolerance, settled_rows, withheld_rows, rate_differs, later_statement) -%}
    case
        when not {{ in_exports }} then 'not_in_exports'
        when {{ within_tolerance }} then 'matched'
        when {{ settled_rows }} = 0 and {{ withheld_rows }} > 0 then 'withheld'
        when {{ settled_rows }} > 0 and {{ rate_differs }} then 'rate_mismatch'
        when {{ settled_rows }} > 0 then 'amount_mismatch'
        when {{ later_statement }} then 'missing'
        else 'unsettled'
    end
{%- endmacro %}

{# 险类 on a statement as the warehouse's coverage class (seed coverages: compulsory / commercial). #}
{% macro statement_insurance_class(policy_class) -%}
    case {{ policy_class }} when '交强险' then 'compulsory' else 'commercial' end
{%- endmacro %}
