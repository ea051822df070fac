"""The local Airflow runner: `python -m pipeline run` (what `make run` does).

Start (or reuse) the warehouse database, write the sample exports when DW_INBOX is not set, and run the daily DAG
through Airflow itself (`dag.test()` with a project-local AIRFLOW_HOME and the warehouse server as Airflow's metadata
database), then print the run's summary.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from pipeline.settings import PROJECT_DIR, Settings, SettingsError, load_settings

DAG_ID = "dealer_dw_daily"


def airflow_environment(settings: Settings) -> dict[str, str]:
    from pipeline.database import airflow_metadata_url

    home = settings.home / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_metadata_url(settings),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": airflow_metadata_url(settings),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "DW_TASK_RETRIES": os.environ.get("DW_TASK_RETRIES", "0"),  # a local run fails fast and says why
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://127.0.0.1:8080/execution/",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_DIR), os.environ.get("PYTHONPATH")])),
        # Airflow's own processes sign in to the embedded server with the generated password (DW_HOME/secrets)
        **({"PGPASSFILE": os.environ["PGPASSFILE"]} if settings.embedded and "PGPASSFILE" in os.environ else {}),
    }


def migrate_airflow(env: dict[str, str]) -> None:
    airflow = Path(sys.executable).with_name("airflow")
    completed = subprocess.run(
        [str(airflow), "db", "migrate"], env={**os.environ, **env}, capture_output=True, text=True
    )
    if completed.returncode != 0:
        from pipeline.database import DatabaseUnavailable

        lines = [line for line in completed.stderr.strip().splitlines() if line.strip()]
        raise DatabaseUnavailable(
            f"airflow db migrate failed ({env.get('AIRFLOW__DATABASE__SQL_ALCHEMY_CONN', '').split('@')[-1]}): "
            f"{lines[-1] if lines else 'no message'}"
        )


def run_dag(as_of: date, dag_id: str = DAG_ID, hour: int = 6) -> tuple[str, dict | None]:
    """Run a DAG in this process for logical date `as_of`; return its state and the daily run's summary.

    On failure the second value names the failed tasks and every task's state.
    """
    import pendulum
    import psycopg
    from airflow.dag_processing.dagbag import DagBag

    from pipeline.database import ensure_database

    bag = DagBag(dag_folder=str(PROJECT_DIR / "dags"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    logical = pendulum.datetime(as_of.year, as_of.month, as_of.day, hour, tz="Asia/Shanghai")
    dag_run = dag.test(logical_date=logical)
    state = str(getattr(dag_run.state, "value", dag_run.state))
    if state != "success":
        states = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in dag_run.get_task_instances()}
        return state, {
            "failed_tasks": [task for task, task_state in states.items() if task_state == "failed"],
            "task_states": states,
        }
    with psycopg.connect(ensure_database()) as conn:
        row = conn.execute("select summary from ops.pipeline_runs where run_id = %s", (dag_run.run_id,)).fetchone()
    return state, row[0] if row else None


def print_summary(summary: dict, settings: Settings, seconds: float) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from pipeline.database import redact

    console = Console(width=max(Console().width, 120))
    ingest = summary["ingest"]
    table = Table(title=f"Ingestion (as of {summary['as_of']})")
    for column in (
        "feed",
        "files",
        "rows loaded",
        "rows rejected",
        "re-delivered",
        "already loaded",
        "waiting",
        "failed files",
    ):
        table.add_column(column, justify="left" if column == "feed" else "right")
    for feed, counts in sorted(ingest["feeds"].items()):
        table.add_row(
            feed,
            str(counts["files"]),
            f"{counts['rows_loaded']:,}",
            str(counts["rows_rejected"]),
            str(counts["duplicates"]),
            str(counts["already_loaded"]),
            str(counts.get("waiting", 0)),
            str(counts["failed"]),
        )
    console.print(table)
    if ingest["reject_reasons"]:
        console.print("[bold]Rows rejected, by reason[/] (details in raw._rejects):")
        for reason, count in sorted(ingest["reject_reasons"].items()):
            console.print(f"  {count:>4}  {reason}")
    for failure in ingest["failures"]:
        console.print("  [red]file not loaded[/] " + escape(failure))  # a file name is never markup
    for waiting in ingest.get("skipped", []):
        console.print("  [yellow]file waits[/] " + escape(waiting))
    for released in ingest.get("released", []):  # held rows a roster now lists (ingestion/staff_hold.py)
        console.print("  [green]rows released[/] " + escape(released))
    console.print(
        f"[bold]Great Expectations[/]  {summary['raw_checks'].get('summary') or 'raw: no new insurer batches'}"
    )
    console.print(f"                    {summary['mart_checks']['summary']}")
    for warning in summary["raw_checks"].get("warnings", []) + summary["mart_checks"].get("warnings", []):
        console.print(f"  [yellow]warning[/] {warning}")
    console.print(f"[bold]dbt build[/]  {summary['dbt']['statuses']}")
    marts = Table(title="Marts (schema marts)")
    marts.add_column("model")
    marts.add_column("rows", justify="right")
    for name, count in summary["mart_rows"].items():
        marts.add_row(name, f"{count:,}")
    console.print(marts)
    embedded = f"embedded PostgreSQL on 127.0.0.1:{settings.pg_port} (data in {settings.pgdata})"
    where = redact(settings.database_url) if settings.database_url else embedded
    console.print(f"Done in {seconds:.0f} s. Warehouse: {where}")


def command_run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    settings = load_settings()
    as_of = settings.as_of or date.today()  # the one place "today" is read: it becomes the run's logical date
    from pipeline.steps import inbox_path, prepare_database

    if settings.inbox is not None and not settings.inbox.is_dir():
        raise SettingsError(
            f"DW_INBOX={settings.inbox} is not a folder (it should hold one sub-folder of exports per feed); "
            "fix it, or unset DW_INBOX to run on generated sample exports"
        )
    url = prepare_database(settings)
    if settings.inbox is None:
        from samples import generate_inbox

        inbox = inbox_path(settings)
        world = generate_inbox(inbox, as_of, stores=args.stores, months=args.months)
        print(f"Sample exports for {len(world.stores)} stores over {args.months} months written to {inbox}")
    env = airflow_environment(settings)
    os.environ.update(env)
    os.environ["DW_AS_OF"] = as_of.isoformat()
    print("Preparing Airflow (project-local AIRFLOW_HOME, metadata in the warehouse server) ...", flush=True)
    from pipeline.database import ensure_airflow_database

    ensure_airflow_database(settings)
    migrate_airflow(env)
    from pipeline import run_lock
    from pipeline.steps import reconciliation_statuses, weekly_report

    with run_lock.held(url, f"pipeline run (pid {os.getpid()})"):  # from ingestion through the reports
        print(f"Running DAG {DAG_ID} for logical date {as_of} through Airflow ...", flush=True)
        state, summary = run_dag(as_of)
        if state != "success" or not summary:
            print(
                f"DAG run ended {state}; failed tasks: {(summary or {}).get('failed_tasks')}. "
                f"Task logs: {settings.home / 'airflow' / 'logs'}",
                file=sys.stderr,
            )
            return 1
        report = weekly_report(as_of, settings)
    print_summary(summary, settings, time.monotonic() - started)
    print(f"Weekly report (week of {report['week_start']}): {report['workbook']}")
    print(f"                                       {report['html']}")
    # written by the DAG's `lists` task
    due_lists = sorted((settings.reports / "due_lists").glob(f"*_{as_of}.*"))
    first_service = sorted((settings.reports / "first_service").glob(f"*_{as_of}.*"))
    print(f"Renewal due lists (应续清单, insurance staff only): {len(due_lists)} files in {settings.reports}/due_lists")
    print(f"First-service reminders (首保提醒): {len(first_service)} files in {settings.reports}/first_service")
    statuses = " · ".join(f"{status} {count:,}" for status, count in reconciliation_statuses(settings).items())
    print(f"Commission reconciliation (finance): {statuses}; dispute workbooks in {settings.reports / 'disputes'}")
    return 0
