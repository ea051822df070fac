"""The run's id and as-of date inside an Airflow task (light: DAG files import it at parse time)."""

from __future__ import annotations

from datetime import date

TIMEZONE = "Asia/Shanghai"


def run_as_of() -> tuple[str, date]:
    """Run id and as-of date: the logical date in the group's timezone (the run time for asset-triggered runs)."""
    import pendulum
    from airflow.sdk import get_current_context

    context = get_current_context()
    moment = context.get("logical_date") or context["dag_run"].run_after
    return context["run_id"], pendulum.instance(moment).in_timezone(TIMEZONE).date()
