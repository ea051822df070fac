{#
  Rules of "Renewal operations" (docs blocks in dbt_project/docs/renewal_operations.md) that are words or date arithmetic, each written once.
#}

{# A follow-up is effective (有效跟进) unless its 跟进结果 is this word. #}
{% macro not_reached_result() -%}
    '未接通'
{%- endmacro %}

{# A follow-up is a quote when 跟进结果 is 已报价 or 已成交, or 报价金额 is above zero. #}
{% macro is_quote(result, quoted_amount) -%}
    ({{ result }} in ('已报价', '已成交') or coalesce({{ quoted_amount }}, 0) > 0)
{%- endmacro %}

{#
  The last day of the term that starts on `start_date` and lasts `years` years: the day before the anniversary.
  A term that starts on 29 February has its anniversary on 1 March of a common year, so it ends on 28 February
  (2024-02-29 + 1 year → 2025-02-28); a term from 1 March 2023 ends on 29 February 2024.
#}
{% macro term_end_date(start_date, years) -%}
    (case
        when extract(month from {{ start_date }}) = 2 and extract(day from {{ start_date }}) = 29
            then ({{ start_date }} - 1 + make_interval(years => {{ years }}))::date
        else ({{ start_date }} + make_interval(years => {{ years }}))::date - 1
    end)
{%- endmacro %}

{#
  The first end of a `term_years`-year term counted from `start_date` that falls on or after `earliest`
  (whole terms added; at least one term): a vehicle's next due date when only its first start is known.
  age() counts the whole years from the start to `earliest`; the term after them ends on or after it.
#}
{% macro next_term_end_on_or_after(start_date, earliest, term_years) -%}
    {{ term_end_date(start_date,
        term_years ~ ' * greatest(1, floor(extract(year from age(' ~ earliest ~ ', ' ~ start_date ~ ')) / ' ~ term_years ~ ')::int + 1)') }}
{%- endmacro %}

{#
  A recorded expiry date moved on by whole terms until it is on or after `earliest` (unchanged when it already is).
#}
{% macro expiry_moved_on(expiry_date, earliest, term_years) -%}
    (case
        when {{ expiry_date }} >= {{ earliest }} then {{ expiry_date }}
        else {{ term_end_date(expiry_date ~ ' + 1',
            term_years ~ ' * (floor(extract(year from age(' ~ earliest ~ ', ' ~ expiry_date ~ ' + 1)) / ' ~ term_years ~ ')::int + 1)') }}
    end)
{%- endmacro %}

{# A follow-up dated in an opportunity's window: from due_date − 120 to due_date + 30 days (seed parameters). #}
{% macro followup_of_opportunity(followup_date, due_date) -%}
    {{ followup_date }} between {{ due_date }} - {{ insurance_parameter('followup_window_before_days') }}::int
    and {{ due_date }} + {{ insurance_parameter('followup_window_after_days') }}::int
{%- endmacro %}

{# An employee (a row of stg_dms__staff under `alias`) employed on a day: 入职日期 ≤ day, 离职日期 empty or after it. #}
{% macro employed_on(alias, day) -%}
    ({{ alias }}.staff_id is not null
    and coalesce({{ alias }}.hired_date <= {{ day }}, true)
    and ({{ alias }}.left_date is null or {{ alias }}.left_date > {{ day }}))
{%- endmacro %}

{#
  The contact window a vehicle of the due lists is in on the as-of date (seed due_list_windows): the smallest window
  (60, 30, 15 days) its days to the due date fit in; empty once the due date has passed or while it is further off.
#}
{% macro contact_window_days(due_date) -%}
    (
        select min(windows.window_days)
        from {{ ref('due_list_windows') }} as windows
        where windows.window_days >= {{ due_date }} - {{ as_of_date() }} and {{ due_date }} >= {{ as_of_date() }}
    )
{%- endmacro %}

{#
  int_renewal_due_vehicles_listed's rows of the pool in the list's windows as of the run's date (docs block
  renewal_due_lists): the model's CTE `in_window`, and what due_list_affected_vins compares with the rows listed.
#}
{% macro due_list_window_rows() -%}
    select *
    from {{ ref('int_renewal_pool_vehicles_classified') }}
    where
        (
            pool_type <> 'lapsed'
            and due_date between {{ as_of_date() }} - {{ insurance_parameter('due_list_grace_days') }}::int
            and {{ as_of_date() }} + {{ insurance_parameter('due_list_ahead_days') }}::int
        )
        or (
            pool_type = 'lapsed'
            and due_date between {{ as_of_date() }} - {{ insurance_parameter('win_back_list_from_days') }}::int
            and {{ as_of_date() }} - {{ insurance_parameter('win_back_list_to_days') }}::int
        )
{%- endmacro %}
