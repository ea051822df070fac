"""Command line: `python -m pipeline run|report|render|samples|ingest|dbt|batches|held|roles|db`.

`run` is what `make run` does (pipeline/airflow_runner.py: the daily DAG through Airflow on the local warehouse); the
other commands administer the warehouse (pipeline/admin.py). This module only parses the arguments and turns errors
into one line a person can act on, with an exit code.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from pipeline.admin import (
    command_batches,
    command_db,
    command_dbt,
    command_held,
    command_ingest,
    command_render,
    command_report,
    command_roles,
    command_samples,
)
from pipeline.airflow_runner import command_run
from pipeline.settings import SettingsError, load_settings


def sample_stores(text: str) -> int:
    """How many of the group's stores the sample exports use: the seed's stores are the only valid codes (rows of
    any other store are quarantined at load)."""
    from ingestion.reference import store_codes

    count, limit = int(text), len(store_codes())
    if not 1 <= count <= limit:
        raise argparse.ArgumentTypeError(f"{count}: the group has {limit} stores (seed stores.csv), use 1 to {limit}")
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="the whole pipeline through Airflow (make run)")
    run.add_argument("--stores", type=sample_stores, default=3, help="sample scale: stores (when DW_INBOX is unset)")
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
    samples.add_argument("--stores", type=sample_stores, default=3)
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
    held = sub.add_parser("held", help="rows held for a staff code no roster lists yet: by code, feed and store")
    held.set_defaults(func=command_held)
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
