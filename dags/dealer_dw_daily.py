"""
### Daily warehouse build (dealer_dw_daily)

ingest the inbox → raw Great Expectations gate → dbt build by layer (staging → intermediate → marts) →
marts gate (reconciliation) → finance's commission dispute workbooks of the statements just loaded → the day's lists
(应续清单, 首保提醒; each store's 应续清单 mailed to its insurance team when mail is configured) → run summary.

Runs every day at 06:00 Asia/Shanghai, and as soon as `dealer_dw_inbox_watch` sees new files (asset
`dw://inbox`). Every task calls a function of `pipeline.steps`; this file only wires them. The run's logical
date is the as-of date of every time-relative rule, and a run loads the files exported up to that date, so a
backfill (`airflow backfill create --dag-id dealer_dw_daily --from-date … --to-date …`) ends where one run ends.
A critical expectation failure holds the failing batches and stops the run before dbt touches the marts.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, dag, task
from airflow.sdk.definitions.taskgroup import TaskGroup
from airflow.timetables.trigger import CronTriggerTimetable

from pipeline.dag_defaults import dag_settings, default_args
from pipeline.run_context import TIMEZONE, run_as_of

INBOX = Asset("dw://inbox")


@dag(
    dag_id="dealer_dw_daily",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 6 * * *", timezone=TIMEZONE), assets=[INBOX]),
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    **dag_settings(
        "daily",
        task_defaults=default_args(
            2, timedelta(minutes=2), retry_exponential_backoff=True, max_retry_delay=timedelta(minutes=30)
        ),
    ),
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
        return steps.raw_checks(run_id, as_of, ingested["new_batches"])

    @task
    def dbt_layer(layer: str) -> dict:
        from pipeline import steps

        _, as_of = run_as_of()
        return steps.dbt_build(as_of, layer=layer)

    @task(retries=0)
    def mart_checks() -> dict:
        from pipeline import steps

        run_id, as_of = run_as_of()
        return steps.mart_checks(run_id, as_of)

    @task
    def dispute_workbooks(ingested: dict) -> list[str]:
        from pipeline import steps

        _, as_of = run_as_of()
        return steps.dispute_workbooks(as_of, ingested["new_batches"])

    @task
    def lists() -> dict:
        from pipeline import steps

        _, as_of = run_as_of()
        return steps.renewal_lists(as_of)

    @task
    def summary(ingested: dict, raw_gate: dict, layers: list[dict], mart_gate: dict) -> dict:
        from pipeline import steps

        run_id, as_of = run_as_of()
        statuses: dict[str, int] = {}
        for layer in layers:
            for status, count in layer["statuses"].items():
                statuses[status] = statuses.get(status, 0) + count
        return steps.finish(
            run_id,
            as_of,
            {"ingest": ingested, "raw_checks": raw_gate, "dbt": {"statuses": statuses}, "mart_checks": mart_gate},
        )

    ingested = ingest()
    raw_gate = raw_checks(ingested)
    with TaskGroup("dbt"):
        staging = dbt_layer.override(task_id="staging")("staging")
        intermediate = dbt_layer.override(task_id="intermediate")("intermediate")
        marts = dbt_layer.override(task_id="marts")("marts")
        raw_gate >> staging >> intermediate >> marts
    mart_gate = mart_checks()
    marts >> mart_gate
    disputes = dispute_workbooks(ingested)
    mart_gate >> disputes >> lists() >> summary(ingested, raw_gate, [staging, intermediate, marts], mart_gate)


dealer_dw_daily()
