"""Load an inbox into `raw`: one transaction per file, COPY for the rows, a ledger row per file.

Per file: checksum → already loaded? (nothing to do; a renamed copy is recorded as a duplicate) →
archive the original bytes → read and coerce → in one transaction: the `raw._batches` row, COPY of the
valid rows into `raw.<feed>`, COPY of the rejects into `raw._rejects`. A file-level error records a
`failed` batch with the reason and loads nothing from that file.

Small CSV files (most daily deltas) are read and coerced a run at a time before their transactions, since
polars' fixed cost per call would otherwise outweigh their rows; each file still gets its own transaction,
ledger row, rejects and duplicate checks, in export order.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl
import psycopg
from psycopg.copy import QueuedLibpqWriter

from ingestion import ledger
from ingestion.coerce import REASON, Coerced, FirstSeen, coerce
from ingestion.feeds import FEEDS, SQL_TYPES, FeedSpec
from ingestion.ledger import BatchStatus, record_batch
from ingestion.readers import CHUNK_ROWS, ROW_NUMBER, BrokenRow, Chunk, FeedFileError, FileScan, open_export, scan_file
from ingestion.staff_hold import HELD, ROSTER_FEED, hold_unknown_staff, release_held, roster_codes, staff_columns
from reports.safe_output import copy_file, private_folder

FILE_NAME = re.compile(r"^(\d{8})_.+\.(csv|xlsx)$", re.IGNORECASE)
INGEST_LOCK_KEY = 7_420_001  # pg advisory lock: one loader at a time writes raw
# Feeds loading at once. The machines have two cores; a third feed fills the gaps while another waits for the
# server to finish its COPY and commit (10M: 279k -> 330k rows/s, CPU near 100% instead of ~85%).
LOAD_WORKERS = 3
SETTLE_SECONDS = float(os.environ.get("DW_INBOX_SETTLE_SECONDS") or 60)  # a CSV changed this recently, ...
SMALL_FILE_BYTES = 4 << 20  # CSV files under this are typed together with their neighbours ...
SMALL_RUN_BYTES = 8 << 20  # ... up to this much in one pass (memory: a few times this; 24 MB was no faster)
FILE = "_file"  # which of the files typed together a row came from


class LoaderBusy(RuntimeError):
    """Another run holds the ingestion lock."""


class StorageError(RuntimeError):
    """A folder the loader writes (the archive) cannot take the file: disk full, read-only, not a folder."""


class WarehouseConnectionLost(RuntimeError):
    """The database went away mid-run; the file being loaded was rolled back, earlier files are kept."""


@dataclass
class FileResult:
    feed: str
    file: str
    status: str  # a ledger BatchStatus, or a file not recorded: already_loaded | waiting | refused
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    message: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    batch_id: int | None = None
    released: bool = False  # a batch of held rows that a roster now lists (ingestion/staff_hold.py)


def table_ddl(spec: FeedSpec) -> list[str]:
    columns = ",\n    ".join(f"{c.name} {SQL_TYPES[c.kind]}" for c in spec.columns)
    statements = [
        f"""create table if not exists {spec.table} (
    {columns},
    _batch_id bigint not null,
    _source_file text not null,
    _row_number integer not null,
    _loaded_at timestamptz not null default now()
)""",
        # The export date is the file's (raw._batches.export_date): parsing it on every row cost the load 5%.
        f"alter table {spec.table} drop column if exists _export_date",
        # BRIN, not B-tree: batch ids only grow, so it finds a batch's rows as well, and a B-tree on every
        # loaded row cost COPY 40% of its speed.
        f"drop index if exists raw.{spec.feed_id}__batch",
        f"create index if not exists {spec.feed_id}__batch_brin on {spec.table} using brin (_batch_id)",
        # No foreign key to raw._batches: its per-row check tripled the cost of COPY. The ledger row and
        # the file's rows are written in one transaction instead, so neither exists without the other.
        f"alter table {spec.table} drop constraint if exists {spec.feed_id}__batch_id_fkey",
    ]
    # New columns added to a spec later appear on existing tables too.
    statements += [
        f"alter table {spec.table} add column if not exists {c.name} {SQL_TYPES[c.kind]}" for c in spec.columns
    ]
    return statements


def key_index_ddl(spec: FeedSpec) -> str | None:
    """The index on a feed's natural key, in the expressions dbt's staging and per-key models look keys up by (macro
    key_tuple: `coalesce(column::text, '')`): the daily build finds every version of the keys a new batch delivered
    through it instead of reading the whole table. Built after a run's loads (`ensure_key_indexes`), so a table's
    first load copies into a table without it and the index is sorted once; later loads add their rows to it. None
    for a key with a column that is not text (its cast to text depends on settings, which an index cannot)."""
    kinds = {column.name: column.kind for column in spec.columns}
    if any(SQL_TYPES[kinds[name]] != "text" for name in spec.key):
        return None
    expressions = ", ".join(f"(coalesce({name}::text, ''))" for name in spec.key)
    return f"create index if not exists {spec.feed_id}__key on {spec.table} ({expressions})"


def ensure_key_indexes(conn: psycopg.Connection, specs: Iterable[FeedSpec] | None = None) -> None:
    for spec in specs or FEEDS.values():
        if statement := key_index_ddl(spec):
            conn.execute(statement)


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


def csv_bytes(frame: pl.DataFrame) -> memoryview:
    """A frame as CSV for COPY: no header, empty for null, timestamps as PostgreSQL reads them.

    A view of the buffer, not a copy: psycopg sends a large write in slices, which of `bytes` are copies too.
    """
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, datetime_format="%Y-%m-%d %H:%M:%S", null_value="")
    return buffer.getbuffer()


class Loader:
    def __init__(self, conn: psycopg.Connection, archive: Path, progress=None, chunk_rows: int = CHUNK_ROWS) -> None:
        self.conn = conn
        self.archive = archive
        self.progress = progress
        self.chunk_rows = chunk_rows
        self.folders_made: set[Path] = set()  # archive folders that exist (a mkdir each time cost 0.2 ms a file)
        self.roster: frozenset[str] | None = None  # staff codes of the loaded rosters, read when first needed

    def roster_for(self, spec: FeedSpec) -> frozenset[str] | None:
        """The staff codes a feed's rows are held against (None: the feed has no staff column). Read once per
        loader: the run's roster files load before the other feeds (FeedWorkers.load)."""
        if not staff_columns(spec):
            return None
        if self.roster is None:
            self.roster = roster_codes(self.conn)
        return self.roster

    def archive_file(
        self, feed: str, path: Path, export: date | None, failed: bool = False, checksum: str | None = None
    ) -> Path:
        """The original bytes under archive/<feed>/YYYY/MM (0640 in 0750 folders), copied atomically.

        An archived file of the same name is kept when its SHA-256 is the file's; a different file of that name
        (a corrected re-export) is archived beside it as <name>.<first 12 hex of its checksum><suffix>.
        """
        folder = self.archive / feed / ("failed" if failed else f"{export:%Y/%m}" if export else "undated")
        target = folder / path.name
        try:
            if folder not in self.folders_made:
                current = private_folder(self.archive)  # every folder of the archive: 0750
                for part in folder.relative_to(self.archive).parts:
                    current = private_folder(current / part)
                self.folders_made.add(folder)
            checksum = checksum or scan_file(path).checksum
            if archived_copy(target) and scan_file(target).checksum != checksum:
                target = folder / f"{path.stem}.{checksum[:12]}{path.suffix}"
                if archived_copy(target) and scan_file(target).checksum == checksum:
                    return target
            if not archived_copy(target):  # a link or anything else there is replaced, never followed or read
                copy_file(path, target)  # under a temporary name, then renamed: never a truncated copy
        except OSError as exc:
            raise StorageError(
                f"cannot archive {feed}/{path.name} to {folder}: {exc.strerror or exc}. Nothing was loaded from "
                "this file; free space or fix the archive folder (DW_ARCHIVE), then re-run"
            ) from exc
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

    def seen_before(self, feed: str, checksum: str, name: str) -> list[tuple[int, str, str]]:
        """Ledger rows of files of this feed with these bytes: (batch id, file name, status), this name first."""
        return ledger.seen_before(self.conn, feed, checksum, name)

    def load_file(
        self,
        feed: str,
        path: Path,
        scan: FileScan | None = None,
        read_ahead: ReadAhead | None = None,
        seen: list[tuple[int, str, str]] | None = None,
    ) -> FileResult:
        """One file in its own transaction; `read_ahead` is its rows when they were typed with other files,
        `seen` its ledger matches when they were looked up with theirs."""
        scan = scan or scan_file(path)
        checksum, size = scan.checksum, scan.size
        spec = FEEDS.get(feed)
        if spec is None:
            message = f"unknown feed folder {feed!r}; known feeds: {', '.join(sorted(FEEDS))}"
            return self.file_not_loaded(feed, path, checksum, size, BatchStatus.UNKNOWN_FEED, message)
        if seen is None:
            seen = self.seen_before(feed, checksum, path.name)
        if seen and seen[0][1] == path.name:
            return FileResult(feed, path.name, "already_loaded")
        previous = next((row for row in seen if row[2] == BatchStatus.LOADED), None)
        if previous:
            batch_id, original, _ = previous
            message = f"identical to {original} (batch {batch_id}); nothing loaded"
            duplicate = BatchStatus.DUPLICATE
            return self.file_not_loaded(feed, path, checksum, size, duplicate, message, duplicate_of=batch_id)
        if size_of(path) != size:
            return FileResult(feed, path.name, "waiting", message="still being written (its size changed while read)")
        try:
            export = export_date_of(path)
            if read_ahead is None:
                opened = open_export(spec, path, scan, self.chunk_rows)
                read_ahead = ReadAhead(opened.notes, typed_chunks(spec, opened.chunks, self.roster_for(spec)))
            archived = self.archive_file(feed, path, export, checksum=checksum)
            return self.load_rows(spec, path, export, checksum, size, archived, read_ahead)
        except (StorageError, psycopg.OperationalError):
            raise  # the run cannot go on: a full disk or a lost server (their own messages)
        except FeedFileError as exc:
            message = str(exc)
        except psycopg.Error as exc:  # the server refused a statement for this file's bytes (e.g. a NUL byte)
            message = f"the warehouse refused this file's rows: {first_line(exc)}. Nothing was loaded from it"
        except Exception as exc:  # any other failure reading this one file: it fails, the others load
            message = f"could not read this file ({type(exc).__name__}: {first_line(exc)}). Nothing was loaded from it"
        archived = self.archive_file(feed, path, None, failed=True, checksum=checksum)
        return self.file_not_loaded(feed, path, checksum, size, BatchStatus.FAILED, message, archive_path=str(archived))

    def load_feed(self, feed: str, files: list[tuple[int, Path]]) -> Iterator[tuple[int, FileResult]]:
        """The files of one feed, in export order, each in its own transaction.

        Consecutive small CSV files are read and typed in one pass first: polars costs a few milliseconds
        per call whatever the rows, which for a file of a few thousand rows was most of its load time.
        """
        spec = FEEDS.get(feed)
        if spec is None or spec.format != "csv":
            yield from ((index, self.load_file(feed, path)) for index, path in files)
            return
        run: list[tuple[int, Path]] = []
        run_bytes = 0
        for index, path in files:
            size = size_of(path)
            small = size is not None and size < SMALL_FILE_BYTES
            if small:
                run.append((index, path))
                run_bytes += size
            if run and (not small or run_bytes >= SMALL_RUN_BYTES):
                yield from self.load_small_files(spec, run)
                run, run_bytes = [], 0
            if not small:
                yield index, self.load_file(feed, path)
        if run:
            yield from self.load_small_files(spec, run)

    def load_small_files(self, spec: FeedSpec, run: list[tuple[int, Path]]) -> Iterator[tuple[int, FileResult]]:
        scans: dict[Path, FileScan] = {}
        seen: dict[Path, list[tuple[int, str, str]]] = {}
        checksums: set[str] = set()
        for _, path in run:
            try:
                scans[path] = scan = scan_file(path)
            except OSError:
                continue  # loads alone, which says why
            # A second copy within the run is looked up when its turn comes, after the first has loaded.
            if scan.checksum not in checksums:
                seen[path] = self.seen_before(spec.feed_id, scan.checksum, path.name)
            checksums.add(scan.checksum)
        # Files already in the ledger, and second copies, are not read: loaded alone, after the files before
        # them, they are recorded as already loaded or as duplicates.
        fresh = [path for path, matches in seen.items() if not matches]
        read = read_together(spec, fresh, scans, self.roster_for(spec)) if len(fresh) > 1 else {}
        for index, path in run:
            yield index, self.load_file(spec.feed_id, path, scans.get(path), read.get(path), seen.get(path))

    def load_rows(
        self, spec: FeedSpec, path: Path, export: date, checksum: str, size: int, archived: Path, read: ReadAhead
    ) -> FileResult:
        """All rows of the file in one transaction, chunk by chunk; a file-level error midway loads nothing."""
        conn = self.conn
        loaded = rejected = skipped = 0
        reasons: Counter[str] = Counter()
        with conn.transaction():
            # A file that failed earlier and now loads replaces its failed ledger row (same batch id); a failed
            # file has no rejects (they are written in the transaction that loads its rows).
            batch_id = record_batch(
                conn, feed=spec.feed_id, source_file=path.name, export_date=export, checksum=checksum,
                size_bytes=size, status=BatchStatus.LOADED, archive_path=str(archived),
            )  # fmt: skip
            per_file = {"_batch_id": batch_id, "_source_file": path.name}
            file_columns = [pl.lit(value).alias(name) for name, value in per_file.items()]
            reject_columns = [
                pl.lit(batch_id).alias("batch_id"),
                pl.lit(spec.feed_id).alias("feed"),
                pl.lit(path.name).alias("source_file"),
            ]
            columns = ", ".join(["_row_number", *(c.name for c in spec.columns), *per_file])
            cursor = conn.cursor()
            # One COPY per file, fed chunk by chunk. The queued writer sends from a worker thread, so the
            # server stores chunk n while this thread parses and checks chunk n+1 (two cores, both busy).
            # Rejects wait in a spooled temporary file (in memory up to 64 MB) for their own COPY.
            with tempfile.SpooledTemporaryFile(max_size=1 << 26) as spool:
                with cursor.copy(
                    f"copy {spec.table} ({columns}) from stdin with (format csv)",
                    writer=QueuedLibpqWriter(cursor),
                ) as copy:
                    for chunk in read.chunks:
                        if chunk.valid.height:
                            copy.write(csv_bytes(chunk.valid.with_columns(file_columns)))
                        if chunk.rejects.height:
                            spool.write(csv_bytes(chunk.rejects.with_columns(reject_columns)))
                            reasons.update(reason_counts(chunk.rejects))
                        loaded += chunk.valid.height
                        rejected += chunk.rejects.height
                        skipped += chunk.skipped
                        if self.progress:
                            self.progress.rows(spec.feed_id, path.name, loaded + rejected)
                if rejected:
                    spool.seek(0)
                    statement = (
                        f"copy raw._rejects (row_number, reason, cells, {HELD}, batch_id, feed, source_file) "
                        "from stdin with (format csv)"
                    )
                    with cursor.copy(statement) as copy:
                        while block := spool.read(1 << 20):
                            copy.write(block)
            status = BatchStatus.LOADED if loaded else BatchStatus.EMPTY
            message = "; ".join(read.notes) or (None if status == BatchStatus.LOADED else "no data rows")
            ledger.finish_load(conn, batch_id, status, loaded + rejected, loaded, rejected, skipped, message)
        return FileResult(
            spec.feed_id, path.name, status, loaded + rejected, loaded, rejected, message, dict(reasons), batch_id
        )


@dataclass
class TypedChunk:
    """Part of a file after typing: rows to load, rows to quarantine with their reason, rows that are not data."""

    valid: pl.DataFrame  # _row_number and the feed's columns, typed
    rejects: pl.DataFrame  # row_number, reason, cells (as delivered, JSON)
    skipped: int


@dataclass
class ReadAhead:
    """A file's header notes and its typed chunks (a lazy stream for a large file, a list for a small one)."""

    notes: list[str]
    chunks: Iterable[TypedChunk]


def analyze_feed_table(conn: psycopg.Connection, feed: str) -> None:
    """Fresh planner statistics for a raw table that just took new batches. The raw gate filters on the new batch
    ids; with statistics from before the load PostgreSQL estimates one row for them and picks nested loops: at 10M
    rows one uniqueness check of a 1% delta ran for over 20 minutes (autovacuum analyzes only after 10% new rows)."""
    spec = FEEDS.get(feed)
    if spec is not None:
        conn.execute(f"analyze {spec.table}")


def typed_chunk(chunk: Chunk, coerced: Coerced) -> TypedChunk:
    rejected = coerced.rejected
    if HELD not in rejected.columns:
        rejected = rejected.with_columns(pl.lit(None, pl.String).alias(HELD))
    rejects = rejected.rename({ROW_NUMBER: "row_number", REASON: "reason"}).select(REJECT_COLUMNS)
    if chunk.broken_rows:
        rejects = pl.concat([rejects, broken_rows_frame(chunk.broken_rows)])
    return TypedChunk(coerced.valid, rejects, chunk.skipped_rows)


def typed_chunks(spec: FeedSpec, chunks: Iterable[Chunk], roster: frozenset[str] | None = None) -> Iterator[TypedChunk]:
    """A file's chunks typed one by one as they are read; duplicates are looked for across all of them; rows
    with a staff code `roster` does not list are held (ingestion/staff_hold.py)."""
    first_seen = FirstSeen()
    for chunk in chunks:
        yield typed_chunk(chunk, hold_unknown_staff(spec, coerce(spec, chunk.frame, first_seen), chunk.frame, roster))


def read_together(
    spec: FeedSpec, paths: list[Path], scans: dict[Path, FileScan], roster: frozenset[str] | None = None
) -> dict[Path, ReadAhead]:
    """Small files of one feed read, then typed as one frame; each file keeps its own rows, rejects and notes.

    A file that cannot be read here is left out: loaded alone in its turn, it records or raises why.
    Duplicates are looked for within each file only, as when it loads alone.
    """
    headers = [c.header for c in spec.columns]
    opened: dict[Path, tuple[int, list[str], Chunk]] = {}
    for number, path in enumerate(paths):
        try:
            export = open_export(spec, path, scans[path])
            chunks = list(export.chunks)
        except Exception:  # a file error or an unreadable file: loaded alone in its turn, it records or raises it
            continue
        # a later version's optional columns, absent from an older file, load empty
        cells = [pl.col(h) if h in chunks[0].frame.columns else pl.lit(None, pl.String).alias(h) for h in headers]
        frame = pl.concat([c.frame.select(ROW_NUMBER, *cells) for c in chunks])
        broken = [row for c in chunks for row in c.broken_rows]
        opened[path] = (number, export.notes, Chunk(frame, broken, sum(c.skipped_rows for c in chunks)))
    if not opened:
        return {}
    together = pl.concat(
        [chunk.frame.with_columns(pl.lit(number, pl.Int32).alias(FILE)) for number, _, chunk in opened.values()]
    )
    coerced = hold_unknown_staff(spec, coerce(spec, together, FirstSeen(), scope=FILE), together, roster, FILE)
    valid = coerced.valid.partition_by(FILE, as_dict=True, include_key=False)
    rejected = coerced.rejected.partition_by(FILE, as_dict=True, include_key=False)
    no_rows = Coerced(coerced.valid.drop(FILE).clear(), coerced.rejected.drop(FILE).clear())
    read = {}
    for path, (number, notes, chunk) in opened.items():
        own = Coerced(valid.get((number,), no_rows.valid), rejected.get((number,), no_rows.rejected))
        read[path] = ReadAhead(notes, [typed_chunk(chunk, own)])
    return read


def archived_copy(path: Path) -> bool:
    """A regular file (not a link, a device or a FIFO, which could point anywhere or never end)."""
    return path.is_file() and not path.is_symlink()


def first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:300]


def size_of(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None  # loaded alone in its turn, which reports it


def reason_counts(rejects: pl.DataFrame) -> dict[str, int]:
    """Rejects per reason without the cell values: the summary reads "VIN: '…' is not a 17-character VIN"."""
    short = pl.col("reason").str.replace_all(r"'[^']*'", "'…'").str.replace_all(r"row \d+", "row …")
    return dict(rejects.group_by(short).len().rows())


REJECT_COLUMNS = ["row_number", "reason", "cells", HELD]


def broken_rows_frame(rows: list[BrokenRow]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "row_number": [r[0] for r in rows],
            "reason": [r[1] for r in rows],
            "cells": [json.dumps(r[2], ensure_ascii=False) for r in rows],
            HELD: [None] * len(rows),
        },
        schema={"row_number": pl.Int64, "reason": pl.String, "cells": pl.String, HELD: pl.String},
    )


def inbox_files(inbox: Path) -> list[tuple[str, Path]]:
    """(feed folder, file) for every export in the inbox, oldest export first."""
    return scan_inbox(inbox)[0]


def scan_inbox(inbox: Path) -> tuple[list[tuple[str, Path]], list[FileResult]]:
    """The inbox's exports, and what it holds that is not one (status `refused`, with the reason).

    The inbox is not trusted: symbolic links (a link can point at any file on the machine), files in
    sub-folders, anything that is not a regular file (a FIFO would block the reader forever) and names that
    are not UTF-8 are refused and listed in the run summary; nothing is read from them.
    """
    found: list[tuple[str, Path]] = []
    refused: list[FileResult] = []
    for folder in sorted(inbox.iterdir()):
        name = shown_name(folder)
        if folder.name.startswith("."):
            continue
        if folder.is_symlink():
            refused.append(FileResult(name, "", "refused", message="the feed folder is a symbolic link; refused"))
        elif not folder.is_dir():
            refused.append(FileResult("", name, "refused", message="not inside a feed folder (<inbox>/<feed>/)"))
        elif name != folder.name:
            refused.append(FileResult(name, "", "refused", message="the folder name is not valid UTF-8"))
        else:
            for path in sorted(folder.iterdir()):
                if path.name.startswith((".", "~$")):
                    continue
                reason = refusal(path)
                if reason:
                    refused.append(FileResult(folder.name, shown_name(path), "refused", message=reason))
                else:
                    found.append((folder.name, path))
    return sorted(found, key=lambda item: (item[1].name[:8], item[0], item[1].name)), refused


def shown_name(path: Path) -> str:
    """The name as it can be shown and stored: bytes that are not UTF-8 shown as U+FFFD."""
    return os.fsencode(path.name).decode("utf-8", errors="replace")


def refusal(path: Path) -> str | None:
    if path.is_symlink():
        return "a symbolic link; the inbox takes real files only"
    if path.is_dir():
        return "a sub-folder; exports go directly into their feed folder"
    if not path.is_file():
        return "not a regular file"
    if shown_name(path) != path.name:
        return "the file name is not valid UTF-8; rename it (the export date first: YYYYMMDD_<name>)"
    return None


def still_being_written(path: Path, settle_seconds: float = SETTLE_SECONDS) -> str | None:
    """A CSV whose last line is incomplete and that changed in the last `settle_seconds` waits for the next run."""
    try:
        info = path.stat()
        if path.suffix.lower() != ".csv" or info.st_size == 0 or time.time() - info.st_mtime > settle_seconds:
            return None
        with path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            last = handle.read(1)
    except OSError:
        return None  # loaded in its turn, which says why
    return (
        None if last in (b"\n", b"\r") else "still being written (its last line is incomplete); waits for the next run"
    )


def ingest_inbox(
    url: str, inbox: Path, archive: Path, as_of: date | None = None, progress=None, workers: int = LOAD_WORKERS
) -> list[FileResult]:
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
            files, refused = scan_inbox(inbox)
            loaded = FeedWorkers(url, archive, progress).load(files, as_of, workers)
            # Held rows whose staff code a roster lists now (this run's or an earlier one's) load as new batches.
            released = release_held(conn, Loader(conn, archive, progress))
            ensure_key_indexes(conn)
            return refused + loaded + released
        finally:
            with contextlib.suppress(psycopg.OperationalError):  # a lost server released the lock already
                conn.execute("select pg_advisory_unlock(%s)", (INGEST_LOCK_KEY,))


class FeedWorkers:
    """Feeds load side by side, each on its own connection; the files of one feed load in export order.

    Files are small next to a run (one 100k-row chunk or less), so within a file the parsing and the server's
    COPY hardly overlap; several feeds at once keep both cores busy. A worker stops at its first error and the
    others finish their feeds; the run then raises that error, with every file loaded so far kept.
    """

    def __init__(self, url: str, archive: Path, progress=None) -> None:
        self.url, self.archive, self.progress = url, archive, progress
        self.lock = threading.Lock()
        self.results: dict[int, FileResult] = {}
        self.queue: list[tuple[str, list[tuple[int, Path]]]] = []
        self.errors: list[tuple[str, Exception]] = []  # (what the worker was doing, the error)

    def load(self, files: list[tuple[str, Path]], as_of: date | None, workers: int) -> list[FileResult]:
        by_feed: dict[str, list[tuple[int, Path]]] = {}
        for index, (feed, path) in enumerate(files):
            try:
                export = export_date_of(path)
            except FeedFileError:
                export = None  # loads in its turn as a failed file that says why (never waits forever)
            if as_of and export and export > as_of:
                self.results[index] = FileResult(feed, path.name, "waiting")
            elif writing := still_being_written(path):
                self.results[index] = FileResult(feed, path.name, "waiting", message=writing)
            else:
                by_feed.setdefault(feed, []).append((index, path))
        # The roster first, alone: the other feeds' rows are held against the staff codes it lists
        # (ingestion/staff_hold.py). Then the largest feeds first, so the workers finish at about the same time.
        roster = {ROSTER_FEED: by_feed.pop(ROSTER_FEED)} if ROSTER_FEED in by_feed else {}
        for phase, phase_workers in ((roster, 1), (by_feed, workers)):
            if not phase:
                continue
            self.queue = sorted(phase.items(), key=lambda item: -sum(path.stat().st_size for _, path in item[1]))
            threads = [threading.Thread(target=self.work, name=f"loader-{n}") for n in range(max(1, phase_workers))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        results = [self.results[index] for index in sorted(self.results)]
        if self.errors:
            doing, error = self.errors[0]
            if isinstance(error, psycopg.OperationalError):
                kept = sum(r.status == "loaded" for r in results)
                raise WarehouseConnectionLost(
                    f"lost the connection to the warehouse while {doing} "
                    f"({str(error).strip().splitlines()[0]}). That file was rolled back (one transaction per "
                    f"file); the {kept} file(s) loaded before it are kept. Re-run once the database is back: "
                    "files already loaded are skipped by checksum"
                ) from error
            raise error
        return results

    def next_feed(self) -> tuple[str, list[tuple[int, Path]]] | None:
        with self.lock:
            return self.queue.pop(0) if self.queue else None

    def work(self) -> None:
        try:
            conn = psycopg.connect(self.url, autocommit=True)
        except psycopg.OperationalError as exc:
            with self.lock:
                self.errors.append(("connecting a loader", exc))
            return
        with conn:
            loader = Loader(conn, self.archive, self.progress)
            while item := self.next_feed():
                feed, files = item
                done = 0
                try:
                    loaded_rows = False
                    for index, result in loader.load_feed(feed, files):
                        with self.lock:
                            self.results[index] = result
                        done += 1
                        loaded_rows |= result.status == "loaded" and bool(result.rows_loaded)
                        if self.progress:
                            self.progress.file_done(result)
                    if loaded_rows:
                        analyze_feed_table(conn, feed)
                except Exception as exc:  # this worker stops; the run raises it once the others are done
                    with self.lock:
                        self.errors.append((f"loading {feed}/{files[min(done, len(files) - 1)][1].name}", exc))
                    return
