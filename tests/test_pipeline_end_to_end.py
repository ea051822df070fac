"""The whole pipeline through Airflow (`dag.test()`), on generated sample exports, twice.

The expected totals come from the generator's world (what it wrote into the exports), not from the code
under test: premium, vehicle tax and commission recomputed here line by line.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from ingestion.samples import BAD_ROWS, generate_inbox
from tests.conftest import query, scalar

AS_OF = date(2026, 11, 20)
COUNTED_TABLES = """
select table_schema || '.' || table_name from information_schema.tables
where table_schema in ('raw', 'marts', 'dq') and table_type = 'BASE TABLE' order by 1
"""


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def expected_totals(world) -> dict[str, Decimal]:
    """Premium, tax and commission exactly as the exports carry them, from the generator's records."""
    premium = tax = commission = Decimal(0)
    for policy in world.policies:
        events = [(policy.lines, policy.tax)] + [(t.lines, 0) for t in policy.transactions]
        for lines, vehicle_tax in events:
            exported: dict[str, int] = {}
            for code, amount in lines.items():
                # CPIC exports both seat coverages in one column, so commission is rounded on their sum
                key = "SEAT" if policy.insurer == "CPIC" and code.startswith("SEAT") else code
                exported[key] = exported.get(key, 0) + amount
            for code, amount in exported.items():
                line = Decimal(amount) / 100
                rate = Decimal(str(policy.rates["SEAT_DRIVER" if code == "SEAT" else code]))
                premium += line
                commission += cents(line / Decimal("1.06") * rate)
            tax += Decimal(vehicle_tax) / 100
    return {"premium": premium, "vehicle_tax": tax, "commission": commission}


@pytest.fixture(scope="module")
def pipeline_runs(warehouse_url, tmp_path_factory):
    inbox = tmp_path_factory.mktemp("inbox")
    world = generate_inbox(inbox, AS_OF, stores=2, months=14)
    os.environ["DW_INBOX"] = str(inbox)
    os.environ["DW_AS_OF"] = AS_OF.isoformat()
    from pipeline.cli import airflow_environment, migrate_airflow, run_dag
    from pipeline.settings import load_settings

    env = airflow_environment(load_settings())
    os.environ.update(env)
    migrate_airflow(env)
    first_state, first_summary = run_dag(AS_OF)
    counts_after_first = {
        t: scalar(warehouse_url, f"select count(*) from {t}")
        for (t,) in query(warehouse_url, COUNTED_TABLES)
        if not t.startswith("dq.")
    }
    second_state, second_summary = run_dag(AS_OF)
    counts_after_second = {
        t: scalar(warehouse_url, f"select count(*) from {t}")
        for (t,) in query(warehouse_url, COUNTED_TABLES)
        if not t.startswith("dq.")
    }
    yield {
        "world": world,
        "states": (first_state, second_state),
        "summaries": (first_summary, second_summary),
        "counts": (counts_after_first, counts_after_second),
        "inbox": inbox,
    }
    for variable in ("DW_INBOX", "DW_AS_OF"):
        os.environ.pop(variable, None)


def test_both_runs_succeed_through_airflow(pipeline_runs):
    assert pipeline_runs["states"] == ("success", "success")


def test_premium_tax_and_commission_reconcile_to_the_cent(pipeline_runs, warehouse_url):
    expected = expected_totals(pipeline_runs["world"])
    premium, tax, commission = query(
        warehouse_url,
        "select sum(premium), sum(vehicle_tax), sum(commission_amount) from marts.fct_policy_transactions",
    )[0]
    assert premium == expected["premium"]
    assert tax == expected["vehicle_tax"]
    assert commission == expected["commission"]
    raw_premium = scalar(
        warehouse_url,
        """
        select (select sum(premium) from raw.insurer_picc) + (select sum(premium) from raw.insurer_paic)
             + (select sum(coalesce(ctp_premium, 0) + coalesce(vd_premium, 0) + coalesce(tpl_premium, 0)
                         + coalesce(seat_premium, 0) + coalesce(rider_premium, 0)) from raw.insurer_cpic)""",
    )
    assert premium == raw_premium
    daily = scalar(warehouse_url, "select sum(premium) from marts.rpt_daily_operations")
    assert daily == expected["premium"]


def test_second_run_changes_no_row_count(pipeline_runs):
    first, second = pipeline_runs["counts"]
    assert first == second
    assert first["raw._batches"] == len([p for p in Path(pipeline_runs["inbox"]).rglob("*.*")])
    assert first["marts.fct_policy_transactions"] > 1000


def test_every_planted_bad_row_is_quarantined_with_its_reason(pipeline_runs, warehouse_url):
    rejects = query(warehouse_url, "select feed, reason from raw._rejects")
    assert len(rejects) == len(BAD_ROWS)
    for feed, fragment in BAD_ROWS:
        assert any(f == feed and fragment in reason for f, reason in rejects), (feed, fragment)
    duplicates = query(warehouse_url, "select feed, source_file from raw._batches where status = 'duplicate'")
    [resend] = Path(pipeline_runs["inbox"]).glob("insurer_picc/*_resend.csv")
    assert duplicates == [("insurer_picc", resend.name)]


def test_great_expectations_results_are_stored_and_summary_recorded(pipeline_runs, warehouse_url):
    first = pipeline_runs["summaries"][0]
    assert first["raw_checks"]["summary"].startswith("raw_insurer_checkpoint: passed")
    assert first["mart_checks"]["summary"].startswith("marts_checkpoint: passed")
    failed_critical = scalar(
        warehouse_url, "select count(*) from dq.validation_results where severity = 'critical' and not success"
    )
    assert failed_critical == 0
    reconciliation = query(
        warehouse_url, "select success from dq.validation_results where expectation = 'expect_column_sum_to_be_between'"
    )
    assert reconciliation and all(ok for (ok,) in reconciliation)
    assert first["mart_rows"]["fct_policy_transactions"] == scalar(
        warehouse_url, "select count(*) from marts.fct_policy_transactions"
    )
    assert first["dbt"]["statuses"].get("error", 0) == 0 and first["dbt"]["statuses"].get("fail", 0) == 0


def test_dagbag_has_no_import_errors(pipeline_runs):
    from airflow.dag_processing.dagbag import DagBag

    from pipeline.settings import PROJECT_DIR

    bag = DagBag(dag_folder=str(PROJECT_DIR / "dags"))
    assert bag.import_errors == {}
    assert "dealer_dw_daily" in bag.dag_ids
    dag = bag.get_dag("dealer_dw_daily")
    assert dag.max_active_runs == 1
    assert [t.task_id for t in dag.topological_sort()] == [
        "ingest",
        "raw_checks",
        "dbt_build",
        "mart_checks",
        "summary",
    ]
