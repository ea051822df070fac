"""Rows with a staff code no staff roster lists are held before dbt, and released when a roster lists it.

The roster (feed dms_staff, a snapshot) may lag behind the policies, sales and follow-ups that name a new
employee; such a row is valid, but loaded it would make a phantom (inferred) member of dim_staff. So:

- **Hold** (in the loader, inside the file's own transaction): a row that passed every other check but whose
  staff-code column holds a code that no loaded roster has ever listed (every `loaded` batch of raw.dms_staff,
  whichever run loaded it; the run loads its roster files before any other feed) goes to `raw._rejects` with
  the reason `staff code 'E0099' is not in any staff roster (held: loads when a roster lists it)`, its cells as
  delivered and the code in `held_staff_code`. It counts as a quarantined row of its file in the ledger and the
  run summary. Empty staff codes are not held (an optional column may be empty; a required one is rejected as
  empty anyway).
- **Release** (`release_held`, at the end of every ingestion, under the loader's lock, so before the raw gate):
  the held rows whose code a roster now lists are typed and checked again from their cells exactly as a new file
  is, and loaded as a new batch of their feed (source file `<file> (released from batch n)`, the original
  export date, so the newest export still wins in staging); their reject rows get `released_batch_id`. The new
  batch is `loaded` and not yet validated: the raw gate checks it and the incremental build picks it up like any
  new batch. A released row is never released again.

Why in the loader and not as a step after the run's files are loaded: only the loader still has the cells as
delivered (raw.<feed> holds typed values), and holding there keeps one transaction per file (a file's rows, its
rejects and held rows and its ledger counts commit together) and leaves the raw gate and the lock as they were.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import psycopg

from ingestion.coerce import REASON, Coerced, coerce
from ingestion.feeds import FEEDS, FeedSpec
from ingestion.readers import ROW_NUMBER

if TYPE_CHECKING:
    from ingestion.loader import FileResult, Loader

ROSTER_FEED = "dms_staff"
# Every column of a feed that holds an employee id (工号) of the roster: 出单员工号 / 经办人代码 / SALES_CODE of the
# insurers, 销售顾问工号, 跟进人工号, 推荐人工号, 被评价人工号, 服务顾问工号, the targets' 工号, 经办人工号.
STAFF_COLUMNS = frozenset({"staff_id", "referrer_staff_id", "advisor_staff_id"})
HELD = "held_staff_code"  # the code a held row waits for (raw._rejects.held_staff_code)
HOLD_REASON = "staff code '{code}' is not in any staff roster (held: loads when a roster lists it)"


def staff_columns(spec: FeedSpec) -> list[str]:
    """The feed's staff-code columns (none for the roster itself)."""
    if spec.feed_id == ROSTER_FEED:
        return []
    return [c.name for c in spec.columns if c.name in STAFF_COLUMNS]


def roster_codes(conn: psycopg.Connection) -> frozenset[str]:
    """Every staff code any loaded roster batch has listed, whichever run loaded it."""
    exists = conn.execute("select to_regclass('raw.dms_staff') is not null").fetchone()[0]
    if not exists:
        return frozenset()
    rows = conn.execute(
        "select distinct staff.staff_id from raw.dms_staff staff "
        "join raw._batches batches on batches.batch_id = staff._batch_id and batches.status = 'loaded'"
    ).fetchall()
    return frozenset(row[0] for row in rows)


def hold_unknown_staff(
    spec: FeedSpec, coerced: Coerced, frame: pl.DataFrame, roster: frozenset[str] | None, scope: str | None = None
) -> Coerced:
    """Move the valid rows whose staff code the roster does not list to the rejects, with their cells as delivered.

    `frame` is the chunk as read (cells under their headers, `_row_number`, and `scope` when files were typed
    together); the rejects gain the column `held_staff_code` (null for rows rejected for any other reason).
    """
    columns = staff_columns(spec)
    rejected = coerced.rejected.with_columns(pl.lit(None, pl.String).alias(HELD))
    if not columns or roster is None or coerced.valid.height == 0:
        return Coerced(coerced.valid, rejected)
    known = list(roster)
    unknown = [pl.col(c).is_not_null() & ~pl.col(c).is_in(known) for c in columns]
    mask = coerced.valid.select(pl.any_horizontal(unknown)).to_series()
    if not mask.any():
        return Coerced(coerced.valid, rejected)
    code = pl.coalesce([pl.when(u).then(pl.col(c)) for c, u in zip(columns, unknown, strict=True)])
    kept = [scope] if scope else []
    held = coerced.valid.filter(mask).select(ROW_NUMBER, *kept, code.alias(HELD))
    held = held.with_columns(
        (pl.lit("staff code '") + pl.col(HELD) + pl.lit(HOLD_REASON.split("{code}")[1])).alias(REASON)
    )
    headers = [c.header for c in spec.columns]
    absent = [h for h in headers if h not in frame.columns]  # a later version's optional columns: empty
    cells = frame.with_columns(pl.lit(None, pl.String).alias(h) for h in absent).select(
        ROW_NUMBER, *kept, pl.struct(headers).struct.json_encode().alias("cells")
    )
    held = held.join(cells, on=[ROW_NUMBER, *kept], how="left").select(rejected.columns)
    return Coerced(coerced.valid.filter(~mask), pl.concat([rejected, held]))


@dataclass
class HeldBatch:
    """The rows of one batch that a roster now lists: what a release loads."""

    batch_id: int
    feed: str
    source_file: str
    export_date: object
    archive_path: str | None
    row_numbers: list[int]
    cells: list[str]  # JSON text, as delivered
    codes: list[str]


def releasable(conn: psycopg.Connection) -> list[HeldBatch]:
    """Held rows whose staff code a loaded roster lists now, per original batch (not one a gate held)."""
    rows = conn.execute(
        """
        select held.batch_id, held.feed, batches.source_file, batches.export_date, batches.archive_path,
               array_agg(held.row_number order by held.row_number),
               array_agg(held.cells::text order by held.row_number),
               array_agg(distinct held.held_staff_code)
        from raw._rejects held
        join raw._batches batches on batches.batch_id = held.batch_id and batches.status in ('loaded', 'empty')
        where held.held_staff_code is not null and held.released_batch_id is null
          and held.held_staff_code in (
              select staff.staff_id from raw.dms_staff staff
              join raw._batches roster on roster.batch_id = staff._batch_id and roster.status = 'loaded'
          )
        group by held.batch_id, held.feed, batches.source_file, batches.export_date, batches.archive_path
        order by held.batch_id
        """
    ).fetchall()
    return [HeldBatch(*row) for row in rows]


def cells_frame(spec: FeedSpec, held: HeldBatch) -> pl.DataFrame:
    """The held rows' cells as delivered, under their headers, as the reader hands over a chunk."""
    headers = [c.header for c in spec.columns]
    struct = pl.Struct({h: pl.String for h in headers})
    frame = pl.Series("cells", held.cells).str.json_decode(struct).struct.unnest()
    return frame.with_columns(pl.Series(ROW_NUMBER, held.row_numbers, pl.Int64)).select(ROW_NUMBER, *headers)


def release_held(conn: psycopg.Connection, loader: Loader) -> list[FileResult]:
    """Load the held rows a roster now lists, one new batch per original batch, each in one transaction with the
    marks on its reject rows; typed and checked from the delivered cells as any file is."""
    from ingestion.loader import ReadAhead, typed_chunk
    from ingestion.readers import Chunk

    if not (to_release := releasable(conn)):
        return []
    roster = roster_codes(conn)
    results = []
    for held in to_release:
        spec = FEEDS[held.feed]
        frame = cells_frame(spec, held)
        coerced = hold_unknown_staff(spec, coerce(spec, frame), frame, roster)
        note = (
            f"released {len(held.row_numbers)} held row(s) of batch {held.batch_id} ({held.source_file}): "
            f"staff code {', '.join(sorted(held.codes))} is in a staff roster now"
        )
        read = ReadAhead([note], [typed_chunk(Chunk(frame, [], 0), coerced)])
        name = f"{held.source_file} (released from batch {held.batch_id})"
        digest = hashlib.sha256(f"{held.batch_id}:{held.row_numbers}".encode()).hexdigest()
        with conn.transaction():  # the new batch, its rows and the marks on the reject rows commit together
            result = loader.load_rows(
                spec, Path(name), held.export_date, f"released:{digest}", 0, Path(held.archive_path or ""), read
            )
            conn.execute(
                "update raw._rejects set released_batch_id = %s "
                "where batch_id = %s and row_number = any(%s) and released_batch_id is null",
                (result.batch_id, held.batch_id, held.row_numbers),
            )
        result.released = True
        results.append(result)
    return results


def held_rows(conn: psycopg.Connection) -> list[tuple[str, str, str, int, object]]:
    """Rows waiting for the roster: (staff code, feed, store, rows, premium or None), by code, feed and store."""
    parts = []
    for spec in FEEDS.values():
        if not staff_columns(spec):
            continue
        store = next((c.header for c in spec.columns if c.name == "store_code"), None)
        premium_headers = [c.header for c in spec.columns if c.name.endswith("premium") and c.kind == "money"]
        store_sql = f"cells->>'{store}'" if store else "''"
        amounts = [
            f"coalesce(nullif(regexp_replace(cells->>'{h}', '[,，¥[:space:]]', '', 'g'), '')::numeric, 0)"
            for h in premium_headers
        ]
        premium_sql = f"sum({' + '.join(amounts)})" if amounts else "null::numeric"
        parts.append(
            f"select held_staff_code, feed, coalesce({store_sql}, ''), count(*)::int, {premium_sql} "
            f"from raw._rejects where feed = '{spec.feed_id}' and held_staff_code is not null "
            f"and released_batch_id is null group by 1, 2, 3"
        )
    return conn.execute(" union all ".join(parts) + " order by 1, 2, 3").fetchall()
