"""Command line: `python -m pipeline run|samples|dbt|db`.

`run` is what `make run` does: start (or reuse) the warehouse database, write the sample exports when
DW_INBOX is not set, and run the daily DAG through Airflow itself (`dag.test()` with a project-local
AIRFLOW_HOME and the warehouse server as Airflow's metadata database), then print the run's summary.
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
        from ingestion.samples import generate_inbox

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


def command_report(args: argparse.Namespace) -> int:
    from pipeline.steps import weekly_report

    settings = load_settings()
    report = weekly_report(args.date or settings.as_of or date.today(), settings)
    print(f"{report['workbook']}\n{report['html']}")
    return 0


def command_render(args: argparse.Namespace) -> int:
    from pipeline.steps import weekly_report
    from reports.render import render

    settings = load_settings()
    report = weekly_report(args.date or settings.as_of or date.today(), settings)
    png, pdf = render(Path(report["html"]))
    print(f"{png}\n{pdf}")
    return 0


def command_samples(args: argparse.Namespace) -> int:
    from ingestion.samples import generate_inbox

    world = generate_inbox(args.inbox, args.as_of, args.stores, args.months, args.seed)
    print(
        f"{len(world.policies)} policies, {len(world.sales)} sales, {len(world.repair_orders)} repair orders "
        f"written to {args.inbox}"
    )
    return 0


def command_ingest(args: argparse.Namespace) -> int:
    from pipeline import run_lock
    from pipeline.steps import ingest, prepare_database

    settings = load_settings()
    as_of = settings.as_of or date.today()
    with run_lock.held(prepare_database(settings), f"pipeline ingest (pid {os.getpid()})"):
        result = ingest(f"ingest-{as_of}", as_of, settings)
    for feed, counts in sorted(result["feeds"].items()):
        print(
            f"  {feed}: {counts['files']} files, {counts['rows_loaded']:,} rows loaded, "
            f"{counts['rows_rejected']:,} quarantined"
        )
    for failure in result["failures"]:
        print(f"  failed: {failure}")
    return 0


def command_dbt(args: argparse.Namespace) -> int:
    from pipeline.steps import DBT_PROJECT_DIR, dbt_env, prepare_database

    settings = load_settings()
    from pipeline import run_lock

    url = prepare_database(settings)
    from pipeline.roles import TRANSFORMER, step_url

    env = dbt_env(step_url(url, TRANSFORMER)) | {"DW_DBT_AS_OF": (settings.as_of or date.today()).isoformat()}
    with run_lock.held(url, f"pipeline dbt (pid {os.getpid()})"), run_lock.dbt_lock(url):
        return subprocess.call(
            [str(Path(sys.executable).with_name("dbt")), *args.dbt_args], env=env, cwd=DBT_PROJECT_DIR
        )


def command_batches(args: argparse.Namespace) -> int:
    """List held batches, or release one (back to loaded) after review, or hold one by hand."""
    import psycopg

    from pipeline.steps import prepare_database

    url = prepare_database(load_settings())
    with psycopg.connect(url) as conn:
        if args.action == "list":
            for row in conn.execute(
                "select batch_id, feed, source_file, status, message from raw._batches "
                "where status in ('held', 'failed') order by batch_id"
            ):
                print(" | ".join(str(v) for v in row))
            return 0
        new_status, old_status = ("loaded", "held") if args.action == "release" else ("held", "loaded")
        row = conn.execute(
            "update raw._batches set status = %s, message = %s where batch_id = %s and status = %s "
            "returning source_file",
            (new_status, f"{args.action}d by hand", args.batch_id, old_status),
        ).fetchone()
        if row and args.action == "hold":
            # its rows may already be in the marts, and some of its keys may have no other version to fall back on
            from pipeline.steps import request_full_rebuild

            request_full_rebuild(conn, f"batch {args.batch_id} ({row[0]}) held by hand")
        print(
            f"batch {args.batch_id} ({row[0]}) is now {new_status}; the next dbt build applies it"
            + (" (rebuilding every model in full)" if args.action == "hold" else "")
            if row
            else f"batch {args.batch_id} is not {old_status}"
        )
        return 0 if row else 1


def command_roles(args: argparse.Namespace) -> int:
    """Create a store manager's login: sees only its stores' rows in the store-scoped marts."""
    import psycopg
    from psycopg import sql

    from pipeline.steps import prepare_database

    url = prepare_database(load_settings())
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (args.login,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create role {} login in role store_manager").format(sql.Identifier(args.login)))
        if args.password:
            conn.execute(
                sql.SQL("alter role {} password {}").format(sql.Identifier(args.login), sql.Literal(args.password))
            )
        for store in args.stores:
            conn.execute("insert into ops.store_managers values (%s, %s) on conflict do nothing", (args.login, store))
    print(f"{args.login} manages {', '.join(args.stores)}")
    return 0


def command_db(args: argparse.Namespace) -> int:
    from pipeline.database import bootstrap_schema, ensure_database, redact, stop_embedded

    settings = load_settings()
    if args.action == "stop":
        stop_embedded(settings)
        print("embedded PostgreSQL stopped")
        return 0
    url = ensure_database(settings)
    if args.action == "init":
        bootstrap_schema(url)
    print(redact(url))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="the whole pipeline through Airflow (make run)")
    run.add_argument("--stores", type=int, default=3, help="sample scale: stores (when DW_INBOX is unset)")
    run.add_argument("--months", type=int, default=18, help="sample scale: months of history")
    run.set_defaults(func=command_run)
    report = sub.add_parser("report", help="build the weekly report for the week before a date (default DW_AS_OF)")
    report.add_argument("--date", type=date.fromisoformat)
    report.set_defaults(func=command_report)
    render = sub.add_parser("render", help="the weekly report rendered by headless Chromium to PNG and PDF")
    render.add_argument("--date", type=date.fromisoformat)
    render.set_defaults(func=command_render)
    samples = sub.add_parser("samples", help="write sample exports")
    samples.add_argument("inbox", type=Path)
    samples.add_argument("--as-of", type=date.fromisoformat, required=True)
    samples.add_argument("--stores", type=int, default=3)
    samples.add_argument("--months", type=int, default=18)
    samples.add_argument("--seed", type=int, default=20261120)
    samples.set_defaults(func=command_samples)
    ingest = sub.add_parser("ingest", help="load the inbox into raw only (files exported by DW_AS_OF)")
    ingest.set_defaults(func=command_ingest)
    dbt = sub.add_parser("dbt", help="run dbt against the warehouse with the project's settings")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=command_dbt)
    batches = sub.add_parser("batches", help="list held/failed batches, release or hold one")
    batches.add_argument("action", choices=("list", "release", "hold"))
    batches.add_argument("batch_id", type=int, nargs="?")
    batches.set_defaults(func=command_batches)
    roles = sub.add_parser("roles", help="add-manager LOGIN STORE...: a store manager limited to its stores")
    roles.add_argument("action", choices=("add-manager",))
    roles.add_argument("login")
    roles.add_argument("stores", nargs="+")
    roles.add_argument("--password")
    roles.set_defaults(func=command_roles)
    db = sub.add_parser("db", help="init (schemas, roles, ledger), url, or stop the embedded PostgreSQL")
    db.add_argument("action", choices=("init", "url", "stop"))
    db.set_defaults(func=command_db)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the on-call reads this line first; the traceback is in the logs
        from ingestion.loader import LoaderBusy, StorageError, WarehouseConnectionLost
        from pipeline.database import DatabaseUnavailable
        from pipeline.run_lock import RunLocked

        if isinstance(exc, DatabaseUnavailable | WarehouseConnectionLost | StorageError | LoaderBusy | RunLocked):
            print(f"error: {exc}", file=sys.stderr)
            return 3
        import psycopg

        print(f"error: {describe_error(exc)} (traceback: {log_traceback(exc)})", file=sys.stderr)
        return 3 if isinstance(exc, psycopg.OperationalError) else 1  # 3: the warehouse is unavailable


def describe_error(exc: BaseException) -> str:
    """One line a person can act on: a full disk, a lost connection and a refused statement told apart."""
    import errno

    import psycopg

    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full ({exc.filename or 'a file the pipeline writes'}): free space, then re-run"
    if isinstance(exc, psycopg.OperationalError):
        return f"lost the connection to the warehouse ({first}); re-run once the database is back"
    if isinstance(exc, psycopg.Error):
        return f"the warehouse refused a statement ({type(exc).__name__}: {first})"
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename or first}"
    return f"{type(exc).__name__}: {first}"


def log_traceback(exc: BaseException) -> str:
    """The full traceback goes to DW_HOME/logs/pipeline_errors.log, never to the terminal."""
    import traceback

    try:
        folder = load_settings().home / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "pipeline_errors.log"
        with log.open("a") as out:
            out.write("".join(traceback.format_exception(exc)) + "\n")
        return str(log)
    except OSError:
        return "not written: the log folder is not writable either"


if __name__ == "__main__":
    sys.exit(main())
