"""
### Maintenance (dealer_dw_maintenance)

Sundays 03:00 Asia/Shanghai: delete archived exports older than `DW_ARCHIVE_RETENTION_DAYS` (default 730),
data-quality results older than `DW_DQ_RETENTION_DAYS` (default 180), both counted back from the logical date,
then VACUUM ANALYZE the raw and marts tables.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from pipeline.dag_defaults import dag_settings, default_args
from pipeline.run_context import TIMEZONE, run_as_of


@dag(
    dag_id="dealer_dw_maintenance",
    schedule="0 3 * * 0",
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    **dag_settings("maintenance", task_defaults=default_args(1, timedelta(minutes=10))),
    doc_md=__doc__,
)
def dealer_dw_maintenance():
    @task
    def prune_archive() -> dict:
        from pipeline import maintenance

        return maintenance.prune_archive(run_as_of()[1])

    @task
    def prune_dq_results() -> dict:
        from pipeline import maintenance

        return maintenance.prune_dq_results(run_as_of()[1])

    @task
    def vacuum_analyze() -> dict:
        from pipeline import maintenance

        return maintenance.vacuum_analyze()

    [prune_archive(), prune_dq_results()] >> vacuum_analyze()


dealer_dw_maintenance()
