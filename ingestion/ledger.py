"""The ingestion ledger `raw._batches`: one row per delivered file, and every change of its state.

The table, its status check and the change-sequence trigger are created by pipeline/bootstrap.sql (with the other
schemas); every statement that writes the ledger is here, and the loader, the pipeline steps (the raw gate) and the
`pipeline batches` command call it:

    load      record_batch (a file's row, in the transaction that copies its rows) and finish_load (its counts)
    validate  mark_validated: the raw gate passed a loaded batch (validated_at)
    hold      hold_batches (the raw gate) and change_by_hand('hold'): loaded → held, kept out of staging
    release   change_by_hand('release'): held → loaded, the next build picks it up
    fail      record_batch with status failed / unknown_feed / duplicate / empty: a file that loads no rows

Each status change takes the next number of `raw._batch_changes` (trigger in bootstrap.sql), which the incremental
models compare with their watermark.
"""

from __future__ import annotations

from enum import StrEnum

import psycopg


class BatchStatus(StrEnum):
    """A ledger row's status (the check constraint `_batches_status_check` in pipeline/bootstrap.sql)."""

    LOADED = "loaded"
    EMPTY = "empty"  # a file with no data rows
    DUPLICATE = "duplicate"  # a renamed copy of a file already loaded (duplicate_of)
    FAILED = "failed"  # a file-level problem: nothing loaded from it
    UNKNOWN_FEED = "unknown_feed"
    HELD = "held"  # loaded, but stopped by a critical data-quality check (or by hand) until released


# Statuses of files whose bytes the ledger has: the same bytes again are not loaded again.
KNOWN_BYTES = (BatchStatus.LOADED, BatchStatus.EMPTY, BatchStatus.DUPLICATE, BatchStatus.HELD)


def record_batch(conn: psycopg.Connection, **values) -> int:
    """Insert (or, for a file that failed before and now loads, update) a file's ledger row; its batch id."""
    columns = ", ".join(values)
    placeholders = ", ".join(f"%({k})s" for k in values)
    row = conn.execute(
        f"insert into raw._batches ({columns}) values ({placeholders}) "
        "on conflict (feed, source_file, checksum) do update set status = excluded.status returning batch_id",
        values,
    ).fetchone()
    return row[0]


def finish_load(
    conn: psycopg.Connection,
    batch_id: int,
    status: BatchStatus,
    rows_read: int,
    rows_loaded: int,
    rows_rejected: int,
    rows_skipped: int,
    message: str | None,
) -> None:
    """A loading file's counts and final status (loaded or empty), in the transaction that copied its rows."""
    conn.execute(
        "update raw._batches set status = %s, rows_read = %s, rows_loaded = %s, rows_rejected = %s, "
        "rows_skipped = %s, message = %s where batch_id = %s",
        (str(status), rows_read, rows_loaded, rows_rejected, rows_skipped, message, batch_id),
    )


def seen_before(conn: psycopg.Connection, feed: str, checksum: str, name: str) -> list[tuple[int, str, str]]:
    """Ledger rows of files of this feed with these bytes: (batch id, file name, status), this name first."""
    return conn.execute(
        "select batch_id, source_file, status from raw._batches where feed = %s and checksum = %s "
        "and status in ('loaded', 'empty', 'duplicate', 'held') order by source_file = %s desc, batch_id",
        (feed, checksum, name),
    ).fetchall()


def recorded_files(conn: psycopg.Connection) -> set[tuple[str, str]]:
    """(feed, file name) of every file the ledger has recorded."""
    return set(conn.execute("select feed, source_file from raw._batches").fetchall())


def unvalidated_batches(url: str, also: list[int] | None = None) -> list[int]:
    """Loaded batches the raw gate has not passed yet (plus `also`), oldest first."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select batch_id from raw._batches where status = 'loaded' and validated_at is null "
            "or batch_id = any(%s) order by batch_id",
            (list(also or []),),
        ).fetchall()
    return [row[0] for row in rows]


def mark_validated(url: str, batch_ids: list[int]) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "update raw._batches set validated_at = now() where batch_id = any(%s) and status = 'loaded'",
            (batch_ids,),
        )


def hold_batches(url: str, failures: dict[int, list[str]], run_id: str) -> list[str]:
    """The raw gate holds the batches that failed a critical check: `feed/file (batch n)` of each one held."""
    held = []
    with psycopg.connect(url) as conn:
        for batch_id, reasons in failures.items():
            row = conn.execute(
                "update raw._batches set status = 'held', message = %s where batch_id = %s and status = 'loaded' "
                "returning feed || '/' || source_file",
                (f"held by run {run_id}: {'; '.join(reasons)}", batch_id),
            ).fetchone()
            if row:
                held.append(f"{row[0]} (batch {batch_id})")
    return held


def held_or_failed(conn: psycopg.Connection) -> list[tuple]:
    """(batch id, feed, file, status, message) of the batches held or failed, oldest first."""
    return conn.execute(
        "select batch_id, feed, source_file, status, message from raw._batches "
        "where status in ('held', 'failed') order by batch_id"
    ).fetchall()


def change_by_hand(conn: psycopg.Connection, batch_id: int, action: str) -> tuple[BatchStatus, BatchStatus, str | None]:
    """`release` (held → loaded) or `hold` (loaded → held) one batch after review: the new and the old status, and
    the batch's file name when it changed (None when the batch was not in the old status)."""
    new_status, old_status = (
        (BatchStatus.LOADED, BatchStatus.HELD) if action == "release" else (BatchStatus.HELD, BatchStatus.LOADED)
    )
    row = conn.execute(
        "update raw._batches set status = %s, message = %s where batch_id = %s and status = %s returning source_file",
        (str(new_status), f"{action}d by hand", batch_id, str(old_status)),
    ).fetchone()
    return new_status, old_status, row[0] if row else None
