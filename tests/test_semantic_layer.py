"""The semantic layer (MetricFlow on dbt_project/models/semantic) answers what the marts say, on the hand-made
scenario of tests/test_metrics_scenario.py (same exports, same as-of date, a database of its own), so the two
can never drift. Hand computations in the comments are the scenario's (see that file for every policy and row).
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import pytest

from pipeline.metrics import MetricsError, SemanticLayer, manifest_is_current, semantic_manifest_path
from tests.conftest import query
from tests.test_metrics_scenario import AS_OF, POLICIES, build_inbox


@pytest.fixture(scope="module")
def layer(scenario_warehouse):
    warehouse = scenario_warehouse("semantic_marts", build_inbox, AS_OF)
    settings, url = warehouse.settings, warehouse.url
    saved = dict(os.environ)
    yield SemanticLayer(settings, AS_OF), url
    os.environ.clear()  # the layer exported this database's DW_PG_* for dbt's profile
    os.environ.update(saved)


def plain(value):
    """Dates as dates, numbers rounded to the marts' 4 decimals (a mart's rate is numeric(9, 4))."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return round(float(value), 4)
    return value


def answer(layer, metric: str, group_by: list[str], where: list[str] = ()) -> dict[tuple, float]:
    """The metric by the dimensions, keyed by the dimensions' values in the order given."""
    rows = layer.query([metric], group_by, where)
    keys = [rows.columns.index(name) for name in group_by]
    index = rows.columns.index(metric)
    return {tuple(plain(row[k]) for k in keys): plain(row[index]) for row in rows.rows if row[index] is not None}


def mart(url: str, sql: str) -> dict[tuple, float]:
    return {tuple(plain(v) for v in row[:-1]): plain(row[-1]) for row in query(url, sql) if row[-1] is not None}


def test_every_metric_compiles_and_runs_on_the_warehouse(layer):
    semantic, _ = layer
    assert semantic.validate() == []
    names = semantic.metric_names()
    for metric in (
        "written_premium",
        "earned_premium",
        "commission",
        "premium_attainment",
        "renewal_rate",
        "churn_rate",
        "new_car_penetration",
        "accident_repair_retention",
        "linkage_conversion",
        "kpi_score",
    ):
        assert metric in names
    # every metric answers by month, and by store unless it is an insurer's (their marts have no store)
    for metric in names:
        by_store = metric not in INSURER_METRICS
        semantic.query([metric], ["store__store_code", "metric_time__month"] if by_store else ["metric_time__month"])
    assert {"effective_contact_rate", "quote_rate", "win_back_rate", "plan_value"} | INSURER_METRICS <= set(names)


# tests/test_money.py compares these with their marts on its own scenario (statements, claims, plan)
INSURER_METRICS = {
    "incurred_claims",
    "loss_ratio",
    "scorecard_earned_premium",
    "expected_commission",
    "settled_commission",
    "withheld_commission",
    "commission_difference",
}


def test_renewal_rate_by_store_and_due_month_equals_the_mart(layer):
    semantic, url = layer
    got = answer(semantic, "renewal_rate", ["store__store_code", "metric_time__month"])
    assert got == mart(url, "select store_code, due_month, renewal_rate from marts.rpt_renewal_rate_monthly")
    # by hand (test_metrics_scenario): S01 May 2026: V01, V02, V05 renewed of 5 due → 3/5 = 0.6;
    # S02 June 2026: V07 renewed of 4 due (2 pending in the base) → 1/4 = 0.25
    assert got[("S01", date(2026, 5, 1))] == 0.6
    assert got[("S02", date(2026, 6, 1))] == 0.25


def test_rates_aggregate_from_counts_at_a_coarser_grain(layer):
    semantic, url = layer
    # the whole group per quarter: Σ renewed / Σ due of the monthly mart, never the mean of the monthly rates
    got = answer(semantic, "renewal_rate", ["metric_time__quarter"])
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for due_month, renewed, due in query(
        url, "select due_month, renewed_count, due_count from marts.rpt_renewal_rate_monthly"
    ):
        quarter = date(due_month.year, 3 * ((due_month.month - 1) // 3) + 1, 1)
        sums[(quarter,)][0] += renewed
        sums[(quarter,)][1] += due
    assert got == {key: round(renewed / due, 4) for key, (renewed, due) in sums.items()}
    # Q2 2026 by hand: S01 May 3 of 5 and S02 June 1 of 4 (the scenario's only Q2 due months) → 4/9 = 0.4444,
    # where the mean of the two monthly rates would say (0.6 + 0.25) / 2 = 0.425
    assert got[(date(2026, 4, 1),)] == 0.4444


def test_renewal_rate_by_staff_equals_the_opportunities(layer):
    semantic, url = layer
    got = answer(semantic, "renewal_rate", ["staff__staff_id"])
    expected = mart(
        url,
        "select staff_id, avg(case when outcome = 'renewed_here' then 1.0 else 0 end) "
        "from marts.fct_renewal_opportunities group by staff_id",
    )
    assert got == expected


def test_churn_rate_equals_lost_over_decided(layer):
    semantic, url = layer
    got = answer(semantic, "churn_rate", ["store__store_code", "metric_time__month"])
    assert got == mart(
        url,
        "select store_code, due_month, round(lost_count::numeric / nullif(renewed_count + lost_count, 0), 4) "
        "from marts.rpt_renewal_rate_monthly",
    )
    # by hand: S01 May: V03, V04 lost, 3 renewed → 2 / (3 + 2) = 0.4; S02 June: V10 lost, V07 renewed → 1/2
    assert got[("S01", date(2026, 5, 1))] == 0.4
    assert got[("S02", date(2026, 6, 1))] == 0.5
    lost = answer(semantic, "lost_count", ["store__store_code", "metric_time__month"])
    assert {key: count for key, count in lost.items() if count} == mart(  # the mart has rows of lost ones only
        url, "select store_code, month, sum(lost_count) from marts.rpt_churn_analysis group by store_code, month"
    )


def test_written_premium_and_commission_equal_the_daily_operations(layer):
    semantic, url = layer
    for metric, column in (("written_premium", "premium"), ("commission", "commission_amount")):
        got = answer(semantic, metric, ["store__store_code", "metric_time__month"])
        expected = mart(
            url,
            f"select store_code, date_trunc('month', business_date)::date, sum({column}) "
            f"from marts.rpt_daily_operations group by 1, 2 having sum(abs({column})) > 0",
        )
        assert {k: v for k, v in got.items() if v != 0 or k in expected} == expected, metric
    # by hand: the exports' premium, every line of every policy plus the two endorsements (V06's refund −2,000.00,
    # V01's +600.00), is the group's written premium
    total = sum(Decimal(v) for p in POLICIES for v in p.lines.values()) + Decimal("-2000.00") + Decimal("600.00")
    assert answer(semantic, "written_premium", []) == {(): round(float(total), 4)}


def test_earned_premium_equals_the_monthly_premium_fact(layer):
    semantic, url = layer
    got = answer(semantic, "earned_premium", ["store__store_code", "metric_time__month"])
    assert got == mart(
        url, "select store_code, month, sum(earned_premium) from marts.fct_premium_monthly group by store_code, month"
    )


def test_attainment_and_kpi_score_per_employee_equal_the_staff_kpi_mart(layer):
    semantic, url = layer
    attainment = answer(semantic, "premium_attainment", ["staff__staff_id", "metric_time__month"])
    assert attainment == mart(url, "select staff_id, month, attainment_rate from marts.fct_staff_kpi_monthly")
    # by hand: E0001 in May 2026 signed 10,150.00 against a target of 8,000.00 → 1.26875 (the mart keeps 1.2688)
    assert attainment[("E0001", date(2026, 5, 1))] == 1.2688
    kpi = answer(semantic, "kpi_score", ["staff__staff_id", "metric_time__month"])
    assert kpi == mart(url, "select staff_id, month, kpi_score from marts.fct_staff_kpi_monthly")
    assert kpi[("E0001", date(2026, 5, 1))] == 95.4  # 100 × (0.40 × 0.75 + 0.30 × 1.26875 + 0.20 × 4.333/5 + 0.10)


def test_store_rates_equal_their_marts(layer):
    semantic, url = layer
    for metric, sql in (
        (
            "new_car_penetration",
            "select store_code, month, penetration_rate from marts.rpt_new_car_penetration_monthly",
        ),
        (
            "accident_repair_retention",
            "select store_code, month, retention_rate from marts.rpt_accident_repair_retention_monthly",
        ),
    ):
        got = answer(semantic, metric, ["store__store_code", "metric_time__month"])
        assert got == mart(url, sql), metric
    # by hand: S01 June: penetration V11, V14 insured of 4 delivered → 2/4; June 2025 V17 never insured → 0/1;
    # April 2026 V18, V19 never insured → 0/2. Retention June: CL1, CL2 of 4 claims → 2/4
    assert answer(semantic, "new_car_penetration", ["store__store_code", "metric_time__month"]) == {
        ("S01", date(2025, 6, 1)): 0.0,
        ("S01", date(2026, 4, 1)): 0.0,
        ("S01", date(2026, 6, 1)): 0.5,
    }
    assert answer(semantic, "accident_repair_retention", ["store__store_code", "metric_time__month"]) == {
        ("S01", date(2026, 6, 1)): 0.5
    }
    # over the whole history the group's penetration is 2 insured of 7 delivered = 0.2857, not the mean of the months
    assert answer(semantic, "new_car_penetration", []) == {(): 0.2857}
    linkage = answer(semantic, "linkage_conversion", ["linkage__source_department"])
    assert linkage == mart(
        url,
        "select source_department, round(sum(converted)::numeric / sum(leads), 4) "
        "from marts.rpt_linkage_monthly group by source_department",
    )
    # by hand: the group's conversion over all departments: L1 and L3 of the 4 leads → 2/4
    assert answer(semantic, "linkage_conversion", []) == {(): 0.5}


def test_funnel_rates_and_win_back_equal_their_marts(layer):
    semantic, url = layer
    for metric, counted in (("effective_contact_rate", "effective_contact_count"), ("quote_rate", "quoted_count")):
        got = answer(semantic, metric, ["staff__staff_id", "metric_time__month"])
        assert got == mart(
            url,
            f"select nullif(staff_id, ''), due_month, round(sum({counted})::numeric / sum(due_count), 4) "
            "from marts.rpt_renewal_funnel_staff_monthly group by 1, 2",
        ), metric
    # by hand (test_metrics_scenario, S01 May 2026): E0001 2 due (PV01A, PV05Z), PV01A effectively contacted, no
    # quote → 1/2 and 0; E0002 3 due (PV02A, CV03, PV04A), CV03 contacted and quoted → 1/3 and 1/3
    contact = answer(semantic, "effective_contact_rate", ["staff__staff_id", "metric_time__month"])
    quote = answer(semantic, "quote_rate", ["staff__staff_id", "metric_time__month"])
    assert (contact[("E0001", date(2026, 5, 1))], quote[("E0001", date(2026, 5, 1))]) == (0.5, 0.0)
    assert (contact[("E0002", date(2026, 5, 1))], quote[("E0002", date(2026, 5, 1))]) == (0.3333, 0.3333)
    win_back = answer(semantic, "win_back_rate", ["store__store_code", "metric_time__month"])
    assert win_back == mart(
        url,
        "select store_code, month, round(sum(won_back_count)::numeric / sum(lost_count), 4) "
        "from marts.rpt_churn_analysis group by 1, 2",
    )


def test_an_unknown_metric_is_a_clear_error(layer):
    semantic, _ = layer
    with pytest.raises(MetricsError, match="renewal_rat"):
        semantic.query(["renewal_rat"], ["store__store_code"])


def test_the_manifest_is_parsed_again_only_when_stale(layer):
    semantic, _ = layer
    path = semantic_manifest_path(semantic.settings)
    assert manifest_is_current(path, "semantic_marts")  # just parsed, for this database
    assert not manifest_is_current(path, "dealer_dw")  # its relations name another database: parse again
