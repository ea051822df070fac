"""
### Weekly report (dealer_dw_weekly_report)

Mondays 08:00 Asia/Shanghai: first every data test of the dbt project on whole tables (the daily builds test only
the rows they wrote); a failure alerts and holds the report. Then the 周报 for the week before, from the marts only:
an Excel workbook for finance and an HTML page with charts, written to `DW_REPORTS`. Data-quality warnings of the
week are in the report. Then mailed to its readers (Airflow connection `dw_smtp`, variable `dw_mail_recipients`;
nothing is sent without them). Beside it, finance's commission dispute workbooks of every insurer and month with
lines to chase.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from pipeline.dag_defaults import dag_settings, default_args
from pipeline.run_context import TIMEZONE, run_as_of


@dag(
    dag_id="dealer_dw_weekly_report",
    schedule="0 8 * * 1",
    start_date=pendulum.datetime(2026, 1, 5, tz=TIMEZONE),
    **dag_settings("report", task_defaults=default_args(2, timedelta(minutes=5))),
    doc_md=__doc__,
)
def dealer_dw_weekly_report():
    @task
    def whole_table_tests() -> dict:
        from pipeline import steps

        return steps.whole_table_tests(run_as_of()[1])

    @task
    def build_weekly_report() -> dict:
        from pipeline import steps

        return steps.weekly_report(run_as_of()[1])

    @task
    def mail_weekly_report(report: dict) -> dict:
        from pipeline import steps

        return steps.mail_weekly_report(report)

    @task
    def dispute_workbooks() -> list[str]:
        from pipeline import steps

        return steps.dispute_workbooks(run_as_of()[1])

    report = build_weekly_report()
    whole_table_tests() >> report
    mail_weekly_report(report)
    dispute_workbooks()


dealer_dw_weekly_report()
