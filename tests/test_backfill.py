"""A backfill of two logical dates ends exactly where one run over the same files ends (the exports of the second
wait on the first day for their date)."""

from __future__ import annotations

import os
from datetime import date

import psycopg
import pytest

from pipeline.database import recreate_database
from samples import generate_inbox
from tests.conftest import query

# three DAG runs through Airflow (about 4 minutes): a long variant of the end-to-end runs, run by CI (`make test-slow`)
pytestmark = pytest.mark.slow

DATES = (date(2026, 11, 18), date(2026, 11, 20))
COMPARED = (
    "fct_policy_transactions",
    "fct_renewal_opportunities",
    "fct_staff_kpi_monthly",
    "rpt_daily_operations",
    "rpt_renewal_rate_monthly",
    "rpt_weekly_kpis",
    "rpt_churn_analysis",
    "dim_customer",
    "dim_vehicle",
)


def marts(url: str) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        return {
            name: conn.execute(
                # without ledger_seq, which records which build wrote a row, not what it says
                f"select count(*), md5(string_agg(r::text, '|' order by r::text)) "
                f"from (select to_jsonb(t) - 'ledger_seq' as r from marts.{name} t) as rows"
            ).fetchone()
            for name in COMPARED
        }


@pytest.fixture(scope="module")
def backfilled(warehouse_url, airflow_ready, tmp_path_factory):
    from pipeline.airflow_runner import run_dag

    inbox = tmp_path_factory.mktemp("backfill-inbox")
    generate_inbox(inbox, DATES[-1], stores=1, months=4)
    os.environ["DW_INBOX"] = str(inbox)
    results = {}
    try:
        os.environ["DW_DATABASE_URL"] = backfill_url = recreate_database(warehouse_url, "backfill_days")
        results["states"] = [run_dag(day)[0] for day in DATES]
        results["loaded_per_run"] = query(
            backfill_url, "select as_of, summary -> 'ingest' -> 'feeds' from ops.pipeline_runs order by as_of"
        )
        os.environ["DW_DATABASE_URL"] = single_url = recreate_database(warehouse_url, "backfill_single")
        results["single_state"] = run_dag(DATES[-1])[0]
        results["marts"] = (marts(backfill_url), marts(single_url))
    finally:
        os.environ.pop("DW_DATABASE_URL", None)
        os.environ.pop("DW_INBOX", None)
    return results


def test_each_day_loads_only_what_had_arrived(backfilled):
    assert backfilled["states"] == ["success", "success"]
    per_run = {day: feeds for day, feeds in backfilled["loaded_per_run"]}
    loaded = {day: sum(f["rows_loaded"] for f in feeds.values()) for day, feeds in per_run.items()}
    waiting = {day: sum(f["waiting"] for f in feeds.values()) for day, feeds in per_run.items()}
    assert loaded[DATES[0]] > 0 and waiting[DATES[0]] > 0  # the 2026-11-20 exports wait for their day
    assert loaded[DATES[1]] > 0 and waiting[DATES[1]] == 0


def test_backfill_equals_one_run_over_the_same_files(backfilled):
    assert backfilled["single_state"] == "success"
    days, single = backfilled["marts"]
    assert days == single
    assert days["fct_policy_transactions"][0] > 100
