"""One run at a time, for the whole run: a lock row in the warehouse held from ingestion through the reports.

A session advisory lock dies with its connection, and Airflow runs each task in a process of its own, so the
run lock is a row (`ops.run_lock`) naming its holder: a DAG run id, or `pipeline <command>` with its process id.
Every step of a run takes it again under the same holder (refreshing the process id), the run's last step gives
it back. A holder whose process on this machine has ended, or that has not refreshed it for
DW_RUN_LOCK_HOURS (6), is stale and the next run takes the lock over. dbt builds are serialised in addition by
an advisory lock around the dbt process (`dbt_lock`), so two builds never run at once on one warehouse.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress

DBT_LOCK_KEY = 7_420_002
STALE_HOURS = float(os.environ.get("DW_RUN_LOCK_HOURS") or 6)

# The holder this process took the lock for (a `pipeline run` holds it for the DAG it runs in-process).
_held_by_process: str | None = None


class RunLocked(RuntimeError):
    """Another run holds the warehouse; this one did nothing (exit code 3)."""


def _alive(pid: int | None, host: str | None) -> bool:
    if pid is None or host != socket.gethostname():
        return True  # another machine's process: only the age tells
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire(url: str, holder: str) -> None:
    """Take (or refresh) the run lock for `holder`; raise RunLocked when another live run holds it."""
    import psycopg  # not at module level: the DAG file imports this module (no heavy import when parsed)

    global _held_by_process
    if _held_by_process is not None and holder != _held_by_process:
        holder = _held_by_process  # a step of the DAG that `pipeline run` is running in this process
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("lock table ops.run_lock in exclusive mode")
        row = conn.execute(
            "select holder, pid, host, acquired_at, now() - acquired_at > make_interval(secs => %s) from ops.run_lock",
            (STALE_HOURS * 3600,),
        ).fetchone()
        # a lock this same process took for an earlier run id is that finished run's (one process runs one run
        # at a time: `pipeline run`, dag.test, a test calling the steps one after another)
        ours = row is not None and row[1] == os.getpid() and row[2] == socket.gethostname()
        if row and row[0] != holder and not ours and _alive(row[1], row[2]) and not row[4]:
            raise RunLocked(
                "another pipeline run is loading the inbox right now; this run loaded nothing "
                f"(the warehouse is held by {row[0]} since {row[3]:%Y-%m-%d %H:%M %Z})"
            )
        conn.execute(
            "insert into ops.run_lock (id, holder, pid, host) values (1, %s, %s, %s) on conflict (id) do update "
            "set holder = excluded.holder, pid = excluded.pid, host = excluded.host, acquired_at = now()",
            (holder, os.getpid(), socket.gethostname()),
        )


def release(url: str, holder: str) -> None:
    """Give the lock back (only the holder's own lock; the run a `pipeline run` holds ends with that command)."""
    if _held_by_process is not None and holder != _held_by_process:
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("delete from ops.run_lock where holder = %s", (holder,))


@contextmanager
def held(url: str, holder: str) -> Iterator[None]:
    """The run lock for a whole command in this process (its in-process DAG steps share it)."""
    global _held_by_process
    acquire(url, holder)
    _held_by_process = holder
    try:
        yield
    except BaseException:
        _held_by_process = None
        with suppress(Exception):  # e.g. the server is gone: the command's own error is the one to tell
            release(url, holder)
        raise
    _held_by_process = None
    release(url, holder)


@contextmanager
def dbt_lock(url: str) -> Iterator[None]:
    """An advisory lock held while a dbt process runs: never two dbt builds on one warehouse at once."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("select pg_try_advisory_lock(%s)", (DBT_LOCK_KEY,)).fetchone()[0]:
            raise RunLocked("another dbt build is running on this warehouse right now; this one did not start")
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (DBT_LOCK_KEY,))


def release_after_failure(context: dict) -> None:
    """Airflow's on_failure_callback: a failed DAG run (retries spent) gives its run lock back."""
    from pipeline.database import ensure_database

    run_id = getattr(context.get("dag_run"), "run_id", None)
    if run_id:
        release(ensure_database(), run_id)
