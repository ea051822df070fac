"""A dealer group's inbox at any size: the sample world's exports, replicated with fresh keys.

The sample generator models one group faithfully but in pure Python (about 10k records/s). For millions
of rows the bench takes its exports and repeats every fact row `replicas` times inside the same files,
giving each copy its own policy, order, repair-order, claim and customer numbers and its own VINs, the
same way in every feed, so renewals, linkage and claims still join up. Stores, staff and targets are the
group's own and are not repeated. Files keep their names, formats, encodings, title rows and the planted
bad cells (so rejects scale too).
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import xlsxwriter

from ingestion.feeds import FEEDS, FeedSpec, Kind
from ingestion.loader import export_date_of
from ingestion.readers import ROW_NUMBER, read_export
from samples import generate_inbox
from samples.world import VIN_ALPHABET

# Dimension codes shared by the whole group: never made replica-specific.
SHARED_CODES = {"store_code", "staff_id", "referrer_staff_id", "advisor_staff_id", "recommended_store_code"}
NOT_REPLICATED = {"dms_staff", "finance_targets"}


@dataclass
class ScaledInbox:
    inbox: Path
    replicas: int
    base_rows: int
    rows: int
    files: int
    bytes: int


def replica_tag(replica: int) -> str:
    """Three VIN characters that name the replica (33³ = 35,937 replicas)."""
    alphabet = VIN_ALPHABET
    return "".join(alphabet[(replica // len(alphabet) ** i) % len(alphabet)] for i in (2, 1, 0))


def replicate(spec: FeedSpec, frame: pl.DataFrame, first: int, count: int) -> pl.DataFrame:
    """`count` copies of the rows (replicas first..first+count-1); replica 0 is the original."""
    copies = []
    for replica in range(first, first + count):
        if replica == 0:
            copies.append(frame)
            continue
        suffix, tag = f"R{replica}", replica_tag(replica)
        changes = []
        for column in spec.columns:
            cell = pl.col(column.header)
            if column.kind == Kind.CODE and column.name not in SHARED_CODES and column.name != "insurer_code":
                changes.append(pl.when(cell.str.strip_chars() != "").then(cell + suffix).otherwise(cell))
            elif column.kind == Kind.VIN:
                vin = cell.str.strip_chars().str.to_uppercase()
                changes.append(
                    pl.when(vin.str.len_chars() == 17)
                    .then(vin.str.slice(0, 3) + tag + vin.str.slice(6))
                    .otherwise(cell)
                    .alias(column.header)
                )
        copies.append(frame.with_columns(changes))
    return pl.concat(copies)


def write_like(spec: FeedSpec, frame: pl.DataFrame, path: Path, export: date) -> None:
    # every column of the spec, a later version's optional ones empty where the sample file had none
    frame = frame.select(
        [pl.col(c.header) if c.header in frame.columns else pl.lit("").alias(c.header) for c in spec.columns]
    )
    if spec.format == "xlsx":
        write_xlsx(spec, frame, path, export)
        return
    text = frame.write_csv(separator=spec.delimiter, line_terminator="\r\n")
    path.write_bytes(text.encode("gb18030" if spec.encoding == "gbk" else spec.encoding))


def write_xlsx(spec: FeedSpec, frame: pl.DataFrame, path: Path, export: date) -> None:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    book.set_properties({"created": datetime(export.year, export.month, export.day, 8, 0)})
    sheet = book.add_worksheet(spec.sheet)
    for row in range(spec.header_row):
        sheet.write(row, 0, f"{spec.description} (bench)" if row == 0 else f"导出时间: {export:%Y-%m-%d} 08:00")
    sheet.write_row(spec.header_row, 0, frame.columns)
    for offset, values in enumerate(frame.iter_rows(), start=spec.header_row + 1):
        sheet.write_row(offset, 0, ["" if v is None else v for v in values])
    book.close()


def base_frames(base: Path) -> list[tuple[FeedSpec, Path, pl.DataFrame]]:
    found = []
    for path in sorted(base.rglob("*.*")):
        spec = FEEDS.get(path.parent.name)
        if spec is not None:
            found.append((spec, path, read_export(spec, path).frame.sort(ROW_NUMBER)))
    return found


def scaled_inbox(inbox: Path, rows: int, as_of: date, seed: int = 20261120, reuse: bool = False) -> ScaledInbox:
    """Write an inbox of about `rows` data rows over all feeds, ending on `as_of` (or reuse the last one)."""
    facts_file = inbox.with_name(inbox.name + ".json")
    if reuse and facts_file.exists():
        facts = json.loads(facts_file.read_text())
        if facts["as_of"] == as_of.isoformat() and facts["seed"] == seed and inbox.is_dir():
            return ScaledInbox(
                inbox, facts["replicas"], facts["base_rows"], facts["rows"], facts["files"], facts["bytes"]
            )
    facts_file.unlink(missing_ok=True)
    base = inbox.with_name(inbox.name + "-base")
    generate_inbox(base, as_of, seed=seed)
    frames = base_frames(base)
    replicated = sum(f.height for s, _, f in frames if s.feed_id not in NOT_REPLICATED)
    fixed = sum(f.height for s, _, f in frames if s.feed_id in NOT_REPLICATED)
    replicas = max(1, math.ceil((rows - fixed) / replicated))
    if inbox.exists():
        shutil.rmtree(inbox)
    total = 0
    for spec, path, frame in frames:
        target = inbox / spec.feed_id / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if spec.feed_id not in NOT_REPLICATED:
            frame = replicate(spec, frame, 0, replicas)
        write_like(spec, frame, target, export_date_of(path))
        total += frame.height
    shutil.rmtree(base)
    files = [p for p in inbox.rglob("*.*")]
    result = ScaledInbox(inbox, replicas, replicated + fixed, total, len(files), sum(p.stat().st_size for p in files))
    facts_file.write_text(
        json.dumps({"as_of": as_of.isoformat(), "seed": seed} | {k: v for k, v in vars(result).items() if k != "inbox"})
    )
    return result


def daily_delta(
    inbox: Path, loaded_rows: int, share: float, day: date, replicas: int, seed: int = 20261120
) -> tuple[list[tuple[Path, int]], int]:
    """The next day's delta exports: `share` of the loaded rows again, as new business with new keys.

    The rows are the newest export of each delta feed, re-keyed as replicas beyond the loaded ones (the
    first `replicas`, and the replicas of earlier deltas) and written as files exported on `day`. Returns each
    file written with its rows, and the number of replicas used (a later delta starts after them).
    """
    base = inbox.with_name(inbox.name + "-delta-base")
    generate_inbox(base, day - timedelta(days=1), seed=seed)
    frames = [(s, p, f) for s, p, f in base_frames(base) if s.delivery == "delta" and s.feed_id not in NOT_REPLICATED]
    newest: dict[str, tuple[Path, pl.DataFrame]] = {}
    for spec, path, frame in frames:  # file names start with the export date
        if spec.feed_id not in newest or path.name > newest[spec.feed_id][0].name:
            newest[spec.feed_id] = (path, frame)
    delta_rows = sum(frame.height for _, frame in newest.values())
    copies = max(1, round(loaded_rows * share / max(delta_rows, 1)))
    written = []
    for feed, (path, frame) in newest.items():
        frame = replicate(FEEDS[feed], frame, replicas + 1, copies)
        target = inbox / feed / f"{day:%Y%m%d}_{path.name[9:]}"
        write_like(FEEDS[feed], frame, target, day)
        written.append((target, frame.height))
    shutil.rmtree(base)
    return written, copies
