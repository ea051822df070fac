"""
### Inbox watch (dealer_dw_inbox_watch)

Every 15 minutes: are there export files in the inbox that the ledger has not seen? If so, it emits the asset
`dw://inbox`, which starts `dealer_dw_daily` at once instead of waiting for 06:00. Nothing new: the task is
skipped and no asset event is emitted.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, task

from pipeline.dag_defaults import dag_settings

INBOX = Asset("dw://inbox")


@dag(
    dag_id="dealer_dw_inbox_watch",
    schedule="*/15 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    **dag_settings("sensor"),
    doc_md=__doc__,
)
def dealer_dw_inbox_watch():
    @task(outlets=[INBOX])
    def new_files_in_inbox() -> list[str]:
        from airflow.exceptions import AirflowSkipException

        from pipeline import steps

        waiting = steps.unseen_inbox_files()
        if not waiting:
            raise AirflowSkipException("no new files in the inbox")
        return waiting

    new_files_in_inbox()


dealer_dw_inbox_watch()
