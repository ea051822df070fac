"""Load an inbox into `raw`: one transaction per file, COPY for the rows, a ledger row per file.

Per file: checksum → already loaded? (nothing to do; a renamed copy is recorded as a duplicate) →
archive the original bytes → read and coerce → in one transaction: the `raw._batches` row, COPY of the
valid rows into `raw.<feed>`, COPY of the rejects into `raw._rejects`. A file-level error records a
`failed` batch with the reason and loads nothing from that file.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl
import psycopg

from ingestion.coerce import REASON, coerce
from ingestion.feeds import FEEDS, SQL_TYPES, FeedSpec
from ingestion.readers import ROW_NUMBER, FeedFileError, read_export

FILE_NAME = re.compile(r"^(\d{8})_.+\.(csv|xlsx)$", re.IGNORECASE)
INGEST_LOCK_KEY = 7_420_001  # pg advisory lock: one loader at a time writes raw


class LoaderBusy(RuntimeError):
    """Another run holds the ingestion lock."""


@dataclass
class FileResult:
    feed: str
    file: str
    status: str  # loaded | empty | duplicate | already_loaded | failed | unknown_feed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    message: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    batch_id: int | None = None


def table_ddl(spec: FeedSpec) -> list[str]:
    columns = ",\n    ".join(f"{c.name} {SQL_TYPES[c.kind]}" for c in spec.columns)
    statements = [
        f"""create table if not exists {spec.table} (
    {columns},
    _batch_id bigint not null references raw._batches (batch_id),
    _source_file text not null,
    _row_number integer not null,
    _export_date date not null,
    _loaded_at timestamptz not null default now()
)""",
        f"create index if not exists {spec.feed_id}__batch on {spec.table} (_batch_id)",
    ]
    # New columns added to a spec later appear on existing tables too.
    statements += [
        f"alter table {spec.table} add column if not exists {c.name} {SQL_TYPES[c.kind]}" for c in spec.columns
    ]
    return statements


def ensure_raw_tables(conn: psycopg.Connection, specs: Iterable[FeedSpec] | None = None) -> None:
    for spec in specs or FEEDS.values():
        for statement in table_ddl(spec):
            conn.execute(statement)


def export_date_of(path: Path) -> date:
    match = FILE_NAME.match(path.name)
    if not match:
        raise FeedFileError(f"file name {path.name!r} must look like YYYYMMDD_<anything>.csv or .xlsx")
    try:
        return date(int(match.group(1)[:4]), int(match.group(1)[4:6]), int(match.group(1)[6:]))
    except ValueError as exc:
        raise FeedFileError(f"file name {path.name!r} does not start with a real date: {exc}") from exc


def copy_frame(conn: psycopg.Connection, table: str, frame: pl.DataFrame) -> None:
    if frame.is_empty():
        return
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, datetime_format="%Y-%m-%d %H:%M:%S", null_value="")
    columns = ", ".join(frame.columns)
    with conn.cursor().copy(f"copy {table} ({columns}) from stdin with (format csv)") as copy:
        copy.write(buffer.getvalue())


def record_batch(conn: psycopg.Connection, **values) -> int:
    columns = ", ".join(values)
    placeholders = ", ".join(f"%({k})s" for k in values)
    row = conn.execute(
        f"insert into raw._batches ({columns}) values ({placeholders}) "
        "on conflict (feed, source_file, checksum) do update set status = excluded.status returning batch_id",
        values,
    ).fetchone()
    return row[0]


class Loader:
    def __init__(self, conn: psycopg.Connection, archive: Path) -> None:
        self.conn = conn
        self.archive = archive

    def archive_file(self, feed: str, path: Path, export: date | None, failed: bool = False) -> Path:
        folder = self.archive / feed / ("failed" if failed else f"{export:%Y/%m}" if export else "undated")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path.name
        if not target.exists() or target.stat().st_size != path.stat().st_size:
            shutil.copyfile(path, target)
        return target

    def file_not_loaded(
        self, feed: str, path: Path, checksum: str, size: int, status: str, message: str, **extra
    ) -> FileResult:
        """Record a file that loads no rows (unknown feed, re-delivered copy, file-level error) in the ledger."""
        with self.conn.transaction():
            record_batch(
                self.conn,
                feed=feed,
                source_file=path.name,
                checksum=checksum,
                size_bytes=size,
                status=status,
                message=message,
                **extra,
            )
        return FileResult(feed, path.name, status, message=message)

    def load_file(self, feed: str, path: Path) -> FileResult:
        data = path.read_bytes()
        checksum = hashlib.sha256(data).hexdigest()
        spec = FEEDS.get(feed)
        conn = self.conn
        if spec is None:
            message = f"unknown feed folder {feed!r}; known feeds: {', '.join(sorted(FEEDS))}"
            return self.file_not_loaded(feed, path, checksum, len(data), "unknown_feed", message)
        seen = conn.execute(
            "select batch_id, source_file, status from raw._batches where feed = %s and checksum = %s "
            "and status in ('loaded', 'empty', 'duplicate', 'held') order by source_file = %s desc, batch_id",
            (feed, checksum, path.name),
        ).fetchall()
        if seen and seen[0][1] == path.name:
            return FileResult(feed, path.name, "already_loaded")
        previous = next((row for row in seen if row[2] == "loaded"), None)
        if previous:
            batch_id, original, _ = previous
            message = f"identical to {original} (batch {batch_id}); nothing loaded"
            return self.file_not_loaded(feed, path, checksum, len(data), "duplicate", message, duplicate_of=batch_id)
        try:
            export = export_date_of(path)
            read = read_export(spec, path)
            result = coerce(spec, read.frame)
        except FeedFileError as exc:
            archived = self.archive_file(feed, path, None, failed=True)
            return self.file_not_loaded(feed, path, checksum, len(data), "failed", str(exc), archive_path=str(archived))
        archived = self.archive_file(feed, path, export)
        rejects = result.rejected.select(
            pl.col(ROW_NUMBER).alias("row_number"), pl.col(REASON).alias("reason"), pl.col("cells")
        )
        if read.broken_rows:
            import json

            rejects = pl.concat(
                [
                    rejects,
                    pl.DataFrame(
                        {
                            "row_number": [r[0] for r in read.broken_rows],
                            "reason": [r[1] for r in read.broken_rows],
                            "cells": [json.dumps(r[2], ensure_ascii=False) for r in read.broken_rows],
                        },
                        schema={"row_number": pl.Int64, "reason": pl.String, "cells": pl.String},
                    ),
                ]
            )
        status = "loaded" if result.valid.height else "empty"
        message = "; ".join(read.notes) or (None if status == "loaded" else "no data rows")
        with conn.transaction():
            batch_id = record_batch(
                conn,
                feed=feed,
                source_file=path.name,
                export_date=export,
                checksum=checksum,
                size_bytes=len(data),
                status=status,
                rows_read=read.rows_read,
                rows_loaded=result.valid.height,
                rows_rejected=rejects.height,
                rows_skipped=read.skipped_rows,
                message=message,
                archive_path=str(archived),
            )
            # A file that failed earlier and now loads replaces its failed ledger row (same batch id).
            conn.execute("delete from raw._rejects where batch_id = %s", (batch_id,))
            copy_frame(
                conn,
                spec.table,
                result.valid.rename({ROW_NUMBER: "_row_number"}).with_columns(
                    pl.lit(batch_id).alias("_batch_id"),
                    pl.lit(path.name).alias("_source_file"),
                    pl.lit(export).alias("_export_date"),
                ),
            )
            copy_frame(
                conn,
                "raw._rejects",
                rejects.with_columns(
                    pl.lit(batch_id).alias("batch_id"),
                    pl.lit(feed).alias("feed"),
                    pl.lit(path.name).alias("source_file"),
                ),
            )
        # Group reasons without the cell values, so that the summary reads "VIN: '…' is not a 17-character VIN".
        reasons = rejects.group_by(pl.col("reason").str.replace_all(r"'[^']*'", "'…'")).len().rows()
        return FileResult(
            feed,
            path.name,
            status,
            read.rows_read,
            result.valid.height,
            rejects.height,
            message,
            dict(reasons),
            batch_id,
        )


def inbox_files(inbox: Path) -> list[tuple[str, Path]]:
    """(feed folder, file) for every export in the inbox, oldest export first."""
    found = []
    for folder in sorted(p for p in inbox.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith((".", "~$")):
                found.append((folder.name, path))
    return sorted(found, key=lambda item: (item[1].name[:8], item[0], item[1].name))


def ingest_inbox(url: str, inbox: Path, archive: Path, as_of: date | None = None, progress=None) -> list[FileResult]:
    """Load every new file of the inbox exported on or before `as_of` (all files when None).

    A run for a logical date loads what had arrived by then, so a backfill of consecutive dates ends where a
    single run over the same files ends; later files wait for their run (status `waiting`, nothing recorded).
    """
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox folder {inbox} does not exist (set DW_INBOX to the folder with the exports)")
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("select pg_try_advisory_lock(%s)", (INGEST_LOCK_KEY,)).fetchone()[0]:
            raise LoaderBusy("another pipeline run is loading the inbox right now; this run loaded nothing")
        try:
            with conn.transaction():
                ensure_raw_tables(conn)
            loader = Loader(conn, archive)
            results = []
            for feed, path in inbox_files(inbox):
                match = FILE_NAME.match(path.name)
                if as_of and match and match.group(1) > f"{as_of:%Y%m%d}":
                    results.append(FileResult(feed, path.name, "waiting"))
                    continue
                results.append(loader.load_file(feed, path))
                if progress:
                    progress(results[-1])
            return results
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (INGEST_LOCK_KEY,))
