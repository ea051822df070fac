"""The pipeline's steps as plain functions: the Airflow tasks call these, and so do the tests.

Each step takes the run's as-of date (the logical date) and run id; none reads the wall clock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import psycopg

from ingestion.ledger import hold_batches, mark_validated, recorded_files, unvalidated_batches
from pipeline import dbt_messages, dbt_state, run_lock
from pipeline.database import bootstrap_schema, connection_parts, ensure_database
from pipeline.published import published_marts, published_models, read_manifest
from pipeline.roles import CHECKER, LOADER, READER, TRANSFORMER, step_url
from pipeline.settings import PROJECT_DIR, Settings, load_settings

DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"


class DbtFailed(RuntimeError):
    """dbt build reported errors or failing tests."""


def inbox_path(settings: Settings) -> Path:
    return settings.inbox or settings.home / "inbox"


def prepare_database(settings: Settings | None = None) -> str:
    url = ensure_database(settings)
    bootstrap_schema(url)
    return url


def ingest(run_id: str, as_of: date, settings: Settings | None = None) -> dict:
    """Load every new file of the inbox; return per-feed counts, reject reasons and the new batch ids."""
    from ingestion.loader import ingest_inbox

    settings = settings or load_settings()
    url = step_url(prepare_database(settings), LOADER)
    run_lock.acquire(url, run_id)  # held through the reports; the run's last step gives it back
    progress = ProgressPrinter()
    results = ingest_inbox(url, inbox_path(settings), settings.archive, as_of=as_of, progress=progress)
    print(f"  ingestion done: {progress.summary()}", flush=True)
    feeds: dict[str, dict] = defaultdict(
        lambda: {
            "files": 0,
            "rows_loaded": 0,
            "rows_rejected": 0,
            "duplicates": 0,
            "failed": 0,
            "already_loaded": 0,
            "waiting": 0,
        }
    )
    reasons: dict[str, int] = defaultdict(int)
    failures = []
    skipped: list[str] = []
    for r in results:
        feed = feeds[r.feed]
        feed["files"] += 1
        feed["rows_loaded"] += r.rows_loaded
        feed["rows_rejected"] += r.rows_rejected
        feed["duplicates"] += r.status == "duplicate"
        feed["already_loaded"] += r.status == "already_loaded"
        feed["waiting"] += r.status == "waiting"
        if r.status in ("failed", "unknown_feed", "refused"):
            feed["failed"] += 1
            failures.append(f"{r.feed}/{r.file}: {r.message}")
        elif r.status == "waiting" and r.message:  # still being written (a later export date needs no word)
            skipped.append(f"{r.feed}/{r.file}: {r.message}")
        for reason, count in r.reasons.items():
            reasons[f"{r.feed}: {reason}"] += count
    new_batches = [r.batch_id for r in results if r.batch_id is not None and r.status == "loaded"]
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into ops.pipeline_runs (run_id, as_of) values (%s, %s) "
            "on conflict (run_id) do update set as_of = excluded.as_of, started_at = now(), status = 'running'",
            (run_id, as_of),
        )
    return {
        "feeds": dict(feeds),
        "reject_reasons": dict(reasons),
        "failures": failures,
        "skipped": skipped,
        "new_batches": new_batches,
        "released": [f"{r.feed}/{r.file}: {r.message}" for r in results if r.released],
    }


def unseen_inbox_files(settings: Settings | None = None) -> list[str]:
    """Inbox files whose name the ledger has not recorded yet (cheap: names only, no checksums)."""
    from ingestion.loader import inbox_files

    settings = settings or load_settings()
    inbox = inbox_path(settings)
    if not inbox.is_dir():
        return []
    with psycopg.connect(prepare_database(settings)) as conn:
        seen = recorded_files(conn)
    return [f"{feed}/{path.name}" for feed, path in inbox_files(inbox) if (feed, path.name) not in seen]


class ProgressPrinter:
    """Progress of ingestion on stdout, which Airflow's task log captures too.

    A line at most every `every_seconds` with files done, rows and the rate (also while one large file
    loads), and a line for every file that did not simply load.
    """

    def __init__(self, every_seconds: float = 10.0) -> None:
        self.every_seconds = every_seconds
        self.files = self.rows_done = 0
        self.in_files: dict[str, int] = {}  # rows so far of the files loading right now (feeds load side by side)
        self.started = self.last_line = time.monotonic()
        self.lock = threading.Lock()

    def line(self, text: str, rows: int) -> None:
        now = time.monotonic()
        if now - self.last_line >= self.every_seconds:
            self.last_line = now
            rate = rows / max(now - self.started, 1e-6)
            print(f"  {text}: {self.files} files, {rows:,} rows ({rate:,.0f} rows/s)", flush=True)

    def rows(self, feed: str, file: str, rows_in_file: int) -> None:
        with self.lock:
            self.in_files[feed] = rows_in_file
            rows = self.rows_done + sum(self.in_files.values())
            self.line(f"loading {feed}/{file} ({rows_in_file:,} rows so far)", rows)

    def file_done(self, result) -> None:
        with self.lock:
            self.in_files.pop(result.feed, None)
            self.files += 1
            self.rows_done += result.rows_read
            if result.status in ("failed", "unknown_feed", "duplicate", "refused") or (
                result.message and (result.status == "waiting")
            ):
                print(f"  {result.status}: {result.feed}/{result.file}: {result.message}", flush=True)
            self.line("ingested", self.rows_done)

    def summary(self) -> str:
        seconds = max(time.monotonic() - self.started, 1e-6)
        return (
            f"{self.files} files, {self.rows_done:,} rows in {seconds:,.1f} s ({self.rows_done / seconds:,.0f} rows/s)"
        )


def raw_checks(run_id: str, as_of: date, batch_ids: list[int] | None) -> dict:
    """The raw gate: a critical failure holds the failing batches out of the marts and stops the run."""
    from expectations.runner import GateFailed, run_raw_checkpoint

    url = step_url(prepare_database(), LOADER)  # the ledger's marks; GX reads as dw_checker
    # Every batch the gate has not passed yet, whichever run or command loaded it (`pipeline ingest`, a crashed
    # run): a ledger state (raw._batches.validated_at), not only the batches this run loaded.
    run_lock.acquire(url, run_id)
    pending = unvalidated_batches(url, batch_ids)
    if not pending:
        return {"summary": "raw_checkpoint: nothing pending (no loaded batch waits for the raw gate)", "warnings": []}
    docs_dir = load_settings().home / "data_docs"
    result = run_raw_checkpoint(step_url(url, CHECKER), run_id, as_of, pending, docs_dir=docs_dir)
    if not result.success:
        held = hold_batches(url, result.failed_batches, run_id)
        raise GateFailed(
            f"{result.summary()}: {'; '.join(result.failed_critical)}. Held out of the marts: {held or 'none'} "
            "(release with `python -m pipeline batches release <batch_id>` after review)"
        )
    mark_validated(url, pending)
    return {"summary": result.summary(), "warnings": result.failed_warning, "validated_batches": len(pending)}


def dbt_env(url: str) -> dict[str, str]:
    parts = connection_parts(url)
    return {
        **os.environ,
        "DW_PG_HOST": str(parts["host"]),
        "DW_PG_PORT": str(parts["port"]),
        "DW_PG_USER": str(parts["user"]),
        "DW_PG_PASSWORD": str(parts["password"]),
        "DW_PG_DBNAME": str(parts["dbname"]),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
    }


def run_dbt(args: list[str], as_of: date, settings: Settings | None = None, test_scope: str | None = None) -> dict:
    """Run a dbt command against the warehouse; return counts by status from run_results.json.

    test_scope "daily": data tests of incremental models read only the rows this build wrote (macros/test_scope.sql);
    None: whole tables."""
    settings = settings or load_settings()
    url = prepare_database(settings)
    target = settings.home / "dbt" / "target"
    dbt = Path(sys.executable).with_name("dbt")
    command = [
        str(dbt) if dbt.exists() else "dbt",
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target),
    ]
    log = settings.home / "logs" / f"dbt_{args[0]}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dbt_env(step_url(url, TRANSFORMER))  # dbt connects as dw_transformer (pipeline/roles.py)
    env |= {"DBT_LOG_PATH": str(settings.home / "logs"), "DW_DBT_AS_OF": as_of.isoformat()}
    with psycopg.connect(step_url(url, LOADER)) as conn:
        env["DW_DBT_WATERMARKS"] = dbt_state.recorded_watermarks(conn)
    env.pop("DW_DBT_TEST_SCOPE", None)
    if test_scope:
        env["DW_DBT_TEST_SCOPE"] = test_scope
    with run_lock.dbt_lock(url):
        completed = subprocess.run(command, env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    log.write_text(completed.stdout + completed.stderr)
    statuses: dict[str, int] = defaultdict(int)
    problems = []
    results_file = target / "run_results.json"
    if results_file.exists():
        for item in json.loads(results_file.read_text())["results"]:
            statuses[item["status"]] += 1
            if item["status"] in ("error", "fail"):
                problems.append(dbt_messages.problem(item))
    if completed.returncode != 0:
        detail = "; ".join(problems) or dbt_messages.last_error_lines(completed.stdout)
        raise DbtFailed(f"dbt {args[0]} failed ({dict(statuses)}); see {log}: {detail}")
    return {"statuses": dict(statuses)}


# dbt runs in three layer tasks, so a failure is retried for its layer alone (one task per model is too fine
# for a project this size: each task would pay dbt's start-up).
DBT_LAYERS = {
    "staging": ["resource_type:seed", "path:models/staging"],
    "intermediate": ["path:models/intermediate"],
    # semantic: the time spine; bi: BI's views of the marts
    "marts": ["path:models/marts", "path:models/semantic", "resource_type:snapshot", "path:models/bi"],
}


def dbt_build(as_of: date, settings: Settings | None = None, layer: str | None = None) -> dict:
    """Build the models (incrementally), or every layer in full while a full rebuild is requested (by hand, or
    because the dbt project changed since the last complete build)."""
    settings = settings or load_settings()
    # buildable: a test runs in the first layer where all its parents exist (a test between an intermediate
    # model and a seed runs with the intermediate layer, not with the seeds)
    select = ["--select", *DBT_LAYERS[layer], "--indirect-selection", "buildable"] if layer else []
    first, last = layer in (None, next(iter(DBT_LAYERS))), layer in (None, list(DBT_LAYERS)[-1])
    url = step_url(prepare_database(settings), LOADER)
    code = dbt_state.project_fingerprint()
    with psycopg.connect(url, autocommit=True) as conn:
        if first and (reason := dbt_state.rebuild_reason(conn, code)):
            print(f"Rebuilding every model in full: {reason}")
            request_full_rebuild(conn, reason)
        requested = conn.execute("select max(requested_at) from ops.full_rebuild_requests").fetchone()[0]
        unchanged_code = not requested and dbt_state.built_with(conn, code)
    # production builds leave the unit tests (rules on fixed rows) to the test suite; a daily build's data tests
    # read the rows it wrote, a full rebuild's every row, and a build of unchanged code leaves out the seeds and the
    # tests only code can fail (dbt_state.CODE_ONLY_NODES; README "What is guaranteed when")
    full = ["--full-refresh"] if requested else []
    exclude = ["resource_type:unit_test", *(dbt_state.CODE_ONLY_NODES if unchanged_code else ())]
    command = ["build", *select, "--exclude", *exclude, *full]
    result = run_dbt(command, as_of, settings, test_scope=None if requested else "daily")
    if last:
        with psycopg.connect(url, autocommit=True) as conn:
            dbt_state.record_built(conn, code)
            if requested:
                conn.execute("delete from ops.full_rebuild_requests where requested_at <= %s", (requested,))
    return result | {"full_rebuild": bool(requested)}


def whole_table_tests(as_of: date, settings: Settings | None = None) -> dict:
    """Every data test on whole tables (unit tests excluded): the weekly suite before Monday's report, which a
    failure holds (the task fails and alerts)."""
    return run_dbt(["test", "--exclude", "resource_type:unit_test"], as_of, settings)


def request_full_rebuild(conn: psycopg.Connection, reason: str) -> None:
    """The next dbt build rebuilds every model in full (all three layers), then clears the request."""
    conn.execute("insert into ops.full_rebuild_requests (reason) values (%s)", (reason,))


def mart_checks(run_id: str, as_of: date) -> dict:
    from expectations.runner import GateFailed, run_mart_checkpoint

    url = prepare_database()
    run_lock.acquire(step_url(url, LOADER), run_id)
    settings = load_settings()
    docs_dir = settings.home / "data_docs"
    published = published_models(read_manifest(settings))
    result = run_mart_checkpoint(step_url(url, CHECKER), run_id, as_of, published, docs_dir=docs_dir)
    if not result.success:
        raise GateFailed(f"{result.summary()}: {'; '.join(result.failed_critical)}")
    return {"summary": result.summary(), "warnings": result.failed_warning}


def weekly_report(logical_date: date, settings: Settings | None = None) -> dict:
    from reports.weekly import build_weekly_report

    settings = settings or load_settings()
    return build_weekly_report(step_url(prepare_database(settings), READER), logical_date, settings.reports)


def mail_weekly_report(report: dict) -> dict:
    """Mail the week's report to its readers (Airflow connection dw_smtp, variable dw_mail_recipients)."""
    from pipeline import mail

    return mail.send(mail.weekly_report_letter(report, mail.load_recipients()))


def due_lists(as_of: date, settings: Settings | None = None) -> list[str]:
    from reports.due_lists import write_due_lists

    settings = settings or load_settings()
    written = write_due_lists(step_url(prepare_database(settings), READER), as_of, settings.reports)
    return [str(p) for files in written.values() for p in files]


def mail_due_lists(as_of: date, settings: Settings | None = None) -> dict:
    """Mail each store's due lists of `as_of` to that store's insurance team (dw_smtp, dw_mail_recipients)."""
    from pipeline import mail
    from reports.safe_output import file_part

    settings = settings or load_settings()
    recipients = mail.load_recipients()
    folder = settings.reports / "due_lists"
    stores = (recipients.get("due_lists") or {}).keys()
    files = {store: sorted(folder.glob(f"应续清单_{file_part(store)}_{as_of}.*")) for store in stores}
    return mail.send(mail.due_list_letters({s: f for s, f in files.items() if f}, as_of.isoformat(), recipients))


def dispute_workbooks(as_of: date, new_batches: list[int] | None = None, settings: Settings | None = None) -> list[str]:
    """Commission dispute workbooks for finance: of the statements these batches loaded (daily run), or of every
    insurer and month with lines to chase (weekly run, `new_batches` None)."""
    from reports.disputes import daily_dispute_workbooks, weekly_dispute_workbooks

    settings = settings or load_settings()
    url = step_url(prepare_database(settings), READER)
    if new_batches is None:
        return [str(p) for p in weekly_dispute_workbooks(url, settings.reports, as_of)]
    return [str(p) for p in daily_dispute_workbooks(url, settings.reports, new_batches)]


def reconciliation_statuses(settings: Settings | None = None) -> dict[str, int]:
    """Rows of the commission reconciliation per status, in first-match order (for the run's closing lines)."""
    with psycopg.connect(step_url(prepare_database(settings or load_settings()), READER)) as conn:
        return dict(
            conn.execute(
                "select statuses.status, count(settlement.status) from marts.commission_settlement_statuses statuses "
                "left join marts.fct_commission_settlement settlement on settlement.status = statuses.status "
                "group by statuses.status, statuses.match_order order by statuses.match_order"
            ).fetchall()
        )


def first_service_lists(as_of: date, settings: Settings | None = None) -> list[str]:
    from reports.first_service import write_first_service_lists

    settings = settings or load_settings()
    reader = step_url(prepare_database(settings), READER)
    return [str(p) for p in write_first_service_lists(reader, as_of, settings.reports)]


def renewal_lists(as_of: date, settings: Settings | None = None) -> dict:
    """The daily run's lists: 应续清单 for the insurance staff and 首保提醒 for the after-sales teams."""
    lists = {"due_lists": due_lists(as_of, settings), "first_service": first_service_lists(as_of, settings)}
    return lists | {"mail": mail_due_lists(as_of, settings)}


def mart_row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {name: conn.execute(f"select count(*) from marts.{name}").fetchone()[0] for name in published_marts()}


def finish(run_id: str, as_of: date, parts: dict) -> dict:
    """Record the run's summary in ops.pipeline_runs and return it."""
    url = step_url(prepare_database(), LOADER)
    summary = {**parts, "as_of": as_of.isoformat(), "mart_rows": mart_row_counts(step_url(url, READER))}
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into ops.pipeline_runs (run_id, as_of, finished_at, status, summary) "
            "values (%s, %s, now(), 'success', %s) on conflict (run_id) do update set "
            "finished_at = now(), status = 'success', summary = excluded.summary",
            (run_id, as_of, json.dumps(summary, ensure_ascii=False, default=str)),
        )
    run_lock.release(url, run_id)
    return summary
