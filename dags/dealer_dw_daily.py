"""
### Daily warehouse build (dealer_dw_daily)

ingest the inbox → raw Great Expectations gate → dbt build → marts gate (reconciliation) → run summary.

Every task calls a function of `pipeline.steps`; this file only wires them. The run's logical date is
the as-of date of every time-relative rule (renewal outcomes, customer tiers), so re-running a date
gives the same marts. A critical expectation failure stops the run before dbt touches the marts.
"""

from __future__ import annotations

from datetime import date, timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task

TIMEZONE = "Asia/Shanghai"


def run_as_of() -> tuple[str, date]:
    """Run id and as-of date (the logical date in the group's timezone)."""
    context = get_current_context()
    moment = context.get("logical_date") or context["dag_run"].run_after
    return context["run_id"], pendulum.instance(moment).in_timezone(TIMEZONE).date()


@dag(
    dag_id="dealer_dw_daily",
    schedule="0 6 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True},
    tags=["warehouse", "daily"],
    doc_md=__doc__,
)
def dealer_dw_daily():
    @task
    def ingest() -> dict:
        from pipeline import steps

        run_id, as_of = run_as_of()
        return steps.ingest(run_id, as_of)

    @task(retries=0)
    def raw_checks(ingested: dict) -> dict:
        from pipeline import steps

        run_id, as_of = run_as_of()
        return steps.raw_checks(run_id, as_of, ingested["new_insurer_batches"])

    @task
    def dbt_build(raw_gate: dict) -> dict:
        from pipeline import steps

        _, as_of = run_as_of()
        return steps.dbt_build(as_of)

    @task(retries=0)
    def mart_checks(built: dict) -> dict:
        from pipeline import steps

        run_id, as_of = run_as_of()
        return steps.mart_checks(run_id, as_of)

    @task
    def summary(ingested: dict, raw_gate: dict, built: dict, mart_gate: dict) -> dict:
        from pipeline import steps

        run_id, as_of = run_as_of()
        return steps.finish(
            run_id, as_of, {"ingest": ingested, "raw_checks": raw_gate, "dbt": built, "mart_checks": mart_gate}
        )

    ingested = ingest()
    raw_gate = raw_checks(ingested)
    built = dbt_build(raw_gate)
    mart_gate = mart_checks(built)
    summary(ingested, raw_gate, built, mart_gate)


dealer_dw_daily()
