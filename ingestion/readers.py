"""Read an export into a frame of text cells, exactly as delivered, with each row's line number.

Shared by every feed: the spec says format, encoding, delimiter, sheet and header row. Nothing is typed
here; `coerce.py` does that. Rows that cannot be read as rows (too few or too many cells) come back
separately so they can be quarantined with their reason.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from ingestion.feeds import FeedSpec

ROW_NUMBER = "_row_number"
TOTAL_ROW_MARKERS = ("合计", "总计")
TOTAL_FIRST_CELL = rf"^\s*(?:{'|'.join(TOTAL_ROW_MARKERS)})"  # a total row's first cell, as is_total_row reads it
NOT_DATA_FIRST_CELL = rf"{TOTAL_FIRST_CELL}|^\s*$"  # ... or an empty one


class FeedFileError(Exception):
    """The whole file cannot be loaded; the message says exactly why, for the ledger and the on-call."""


BrokenRow = tuple[int, str, dict[str, str]]  # (line or spreadsheet row, reason, the cells as delivered)
CHUNK_ROWS = 100_000  # rows per chunk: memory stays bounded by the chunk, not the file
SCAN_BLOCK = 1 << 22


@dataclass
class Chunk:
    frame: pl.DataFrame  # text cells under the spec's headers, plus _row_number
    broken_rows: list[BrokenRow] = field(default_factory=list)
    skipped_rows: int = 0  # total rows and blank rows, which are not data


@dataclass
class OpenedExport:
    """A file whose header matched its spec; `chunks` streams its rows (read lazily, once)."""

    notes: list[str]
    chunks: Iterator[Chunk]


@dataclass
class ReadResult:
    frame: pl.DataFrame  # text cells under the spec's headers, plus _row_number
    broken_rows: list[BrokenRow] = field(default_factory=list)
    skipped_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.frame.height + len(self.broken_rows)


@dataclass(frozen=True)
class FileScan:
    """One streaming pass over a file's bytes: its checksum, and what its encoding can be."""

    checksum: str
    size: int
    has_content: bool
    ascii_only: bool
    utf8_error_at: int | None  # offset of the first byte that is not UTF-8, None when all of it is


def scan_file(path: Path) -> FileScan:
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    size, has_content, ascii_only, utf8_error_at = 0, False, True, None
    with path.open("rb") as handle:
        while block := handle.read(SCAN_BLOCK):
            digest.update(block)
            has_content = has_content or bool(block.strip())
            ascii_only = ascii_only and block.isascii()
            if utf8_error_at is None and not ascii_only:
                try:
                    utf8.decode(block)
                except UnicodeDecodeError as exc:
                    utf8_error_at = size + exc.start
            size += len(block)
    if utf8_error_at is None:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_error_at = size - 1
    return FileScan(digest.hexdigest(), size, has_content, ascii_only, utf8_error_at)


def normalise_header(header: str) -> str:
    return header.replace("\ufeff", "").replace("（", "(").replace("）", ")").strip()


def match_headers(spec: FeedSpec, headers: list[str]) -> list[str]:
    """Check the header against the spec; return notes. A missing or renamed column is a file error."""
    seen = [normalise_header(h) for h in headers]
    duplicated = sorted({h for h in seen if seen.count(h) > 1 and h})
    if duplicated:
        raise FeedFileError(f"column header repeated: {', '.join(duplicated)}")
    expected = [c.header for c in spec.columns]
    missing = [c.header for c in spec.columns if c.header not in seen and not c.optional]
    extra = [h for h in seen if h not in expected]
    if missing:
        hints = []
        for name in missing:
            close = difflib.get_close_matches(name, extra, n=1, cutoff=0.4)
            hints.append(f"{name} (found {close[0]!r} instead?)" if close else name)
        raise FeedFileError(
            f"missing column(s) for feed {spec.feed_id}: {', '.join(hints)}; "
            f"the file's header is: {', '.join(h for h in seen if h)}"
        )
    return [f"ignored extra column(s): {', '.join(extra)}"] if any(extra) else []


def check_encoding(spec: FeedSpec, path: Path, scan: FileScan) -> str:
    """The Python codec to read the file with; a file saved in the other encoding gets a clear error."""
    if not scan.has_content:
        raise FeedFileError("empty file: no header and no rows")
    if spec.encoding == "gbk":
        if scan.utf8_error_at is None and not scan.ascii_only:
            raise FeedFileError(f"wrong encoding: feed {spec.feed_id} is exported in GBK, but this file is UTF-8")
        return "gb18030"  # a superset of GBK: real exports carry characters outside GBK
    if scan.utf8_error_at is not None:
        with path.open("rb") as handle:
            head = handle.read(SCAN_BLOCK)
        try:
            head.decode("gb18030")
            hint = "; it looks GBK-encoded"
        except UnicodeDecodeError:
            hint = ""
        raise FeedFileError(
            f"wrong encoding: feed {spec.feed_id} is exported in UTF-8, "
            f"undecodable bytes at offset {scan.utf8_error_at}{hint}"
        )
    return "utf-8-sig"


def is_total_row(first_cell: str | None) -> bool:
    return bool(first_cell) and first_cell.strip().startswith(TOTAL_ROW_MARKERS)


def read_header(spec: FeedSpec, path: Path, codec: str) -> list[str]:
    with path.open("rb") as handle:
        first = handle.readline(1 << 20)
    try:
        line = first.decode(codec)
    except UnicodeDecodeError as exc:
        raise FeedFileError(f"wrong encoding: the header line is not {spec.encoding.upper()} text") from exc
    first_line = re.split(r"\r\n|\r|\n", line, maxsplit=1)[0]  # the line ends pyarrow knows, no others
    try:
        return next(csv.reader([first_line], delimiter=spec.delimiter), [])
    except csv.Error as exc:
        raise FeedFileError(f"cannot read the header line as CSV: {exc}") from exc


class LineNumbers:
    """Physical line numbers of the rows pyarrow returns.

    pyarrow hands every line it cannot use as a row (wrong number of cells, whitespace only) to the
    invalid-row handler with its physical line number, before it returns the rows of the same block;
    every other line is a row, in order. So the rows' line numbers are the lines from 2 on, minus those.
    """

    def __init__(self) -> None:
        self.next_line = 2
        self.skipped: list[int] = []

    def take(self, count: int) -> np.ndarray:
        self.skipped = [n for n in self.skipped if n >= self.next_line]
        candidates = np.arange(self.next_line, self.next_line + count + len(self.skipped), dtype=np.int64)
        lines = candidates[~np.isin(candidates, self.skipped)][:count]
        if count:
            self.next_line = int(lines[-1]) + 1
        return lines


def open_csv(spec: FeedSpec, path: Path, scan: FileScan, chunk_rows: int = CHUNK_ROWS) -> OpenedExport:
    codec = check_encoding(spec, path, scan)
    header = read_header(spec, path, codec)
    notes = match_headers(spec, header)
    return OpenedExport(notes, csv_chunks(spec, path, codec, [normalise_header(h) for h in header], chunk_rows))


def open_arrow_csv(path: Path, codec: str, names: list[str], delimiter: str, on_bad_row):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    return pacsv.open_csv(
        str(path),
        read_options=pacsv.ReadOptions(
            column_names=names,
            skip_rows=1,
            use_threads=False,
            block_size=1 << 23,
            encoding="utf8" if codec == "utf-8-sig" else codec,
        ),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_bad_row, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def csv_chunks(spec: FeedSpec, path: Path, codec: str, names: list[str], chunk_rows: int) -> Iterator[Chunk]:
    import pyarrow as pa

    numbers = LineNumbers()
    broken: list[BrokenRow] = []
    not_data = 0

    def on_bad_row(row) -> str:
        nonlocal not_data
        numbers.skipped.append(row.number)
        try:
            cells = next(csv.reader([row.text], delimiter=spec.delimiter), [])
        except csv.Error:  # e.g. a stray carriage return: keep the text as delivered
            cells = row.text.split(spec.delimiter)
        if not row.text.strip() or (cells and is_total_row(cells[0])):
            not_data += 1
        else:
            reason = f"row has {row.actual_columns} cells, the header has {row.expected_columns}"
            broken.append((row.number, reason, {f"cell_{i + 1}": c for i, c in enumerate(cells)}))
        return "skip"

    def file_error(exc: Exception) -> FeedFileError:
        if isinstance(exc, UnicodeDecodeError) or "decode" in str(exc).lower() or "utf" in str(exc).lower():
            where = f"after line {numbers.next_line - 1}" if numbers.next_line > 2 else "in the first block"
            return FeedFileError(f"wrong encoding: not {spec.encoding.upper()} text {where}: {exc}")
        return FeedFileError(f"cannot parse as {spec.delimiter!r}-delimited CSV: {exc}")

    # use_threads=False keeps lines in order, so that every row and reject names its line in the file.
    # pyarrow reads (and decodes) the first block on opening: decoding errors can come from here too.
    try:
        reader = open_arrow_csv(path, codec, names, spec.delimiter, on_bad_row)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise file_error(exc) from exc
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    emitted = False

    def emit() -> Chunk:
        nonlocal broken, not_data, pending, pending_rows
        frame = pl.from_arrow(pa.Table.from_batches(pending, schema=reader.schema))
        assert isinstance(frame, pl.DataFrame)
        frame = frame.with_columns(pl.Series(ROW_NUMBER, numbers.take(frame.height), dtype=pl.Int64))
        # A line of empty cells; a line of whitespace only went to the invalid-row handler above.
        frame, skipped = drop_rows_that_are_not_data(frame, names, lambda cell: cell == "")
        chunk = Chunk(frame, broken, not_data + skipped)
        broken, not_data, pending, pending_rows = [], 0, [], 0
        return chunk

    try:
        for batch in reader:
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= chunk_rows:
                emitted = True
                yield emit()
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise file_error(exc) from exc
    if pending or broken or not_data or not emitted:
        yield emit()


def drop_rows_that_are_not_data(
    frame: pl.DataFrame, columns: list[str], blank_cell: Callable[[pl.Expr], pl.Expr]
) -> tuple[pl.DataFrame, int]:
    """Blank rows and total rows (合计/总计 in the first column) are not data: dropped, and counted.

    Either kind starts with an empty or a total cell, so one test of the first column on every row usually
    settles it; the whole rows are looked at only when some first cell is like that.
    """
    first = pl.col(columns[0])
    maybe = frame.select((first.is_null() | first.str.contains(NOT_DATA_FIRST_CELL)).any()).item()
    if not maybe:
        return frame, 0
    blank = pl.all_horizontal([blank_cell(pl.col(c)) for c in columns])
    not_data = frame.select((blank | first.str.contains(TOTAL_FIRST_CELL)).fill_null(False)).to_series()
    skipped = int(not_data.sum())
    return (frame.filter(~not_data) if skipped else frame), skipped


# ---- XLSX --------------------------------------------------------------------------------------
CELL_REF = re.compile(r"([A-Z]+)(\d+)")


def column_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index - 1


@dataclass
class SheetFacts:
    merged: list[tuple[int, int, int, int]]  # (first_row, first_col, last_row, last_col), 1-based rows
    formulas_without_value: list[tuple[int, int]]


def sheet_facts(path: Path, sheet: str) -> SheetFacts:
    """Merged ranges and uncomputed formula cells, read straight from the sheet's XML."""
    with zipfile.ZipFile(path) as archive:
        workbook = archive.read("xl/workbook.xml").decode("utf-8")
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        match = re.search(rf'<sheet [^>]*name="{re.escape(sheet)}"[^>]*r:id="([^"]+)"', workbook)
        if not match:
            return SheetFacts([], [])
        target = re.search(rf'<Relationship [^>]*Id="{match.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(
            rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{match.group(1)}"', rels
        )
        if not target:
            return SheetFacts([], [])
        name = target.group(1).lstrip("/")
        raw = archive.read(name if name.startswith("xl/") else f"xl/{name}")
    if b"<mergeCell " not in raw and not re.search(rb"<f[ >/]", raw):
        return SheetFacts([], [])  # the usual export: nothing to look at cell by cell
    xml = raw.decode("utf-8")
    merged = []
    for ref in re.findall(r'<mergeCell ref="([A-Z]+\d+):([A-Z]+\d+)"', xml):
        (c1, r1), (c2, r2) = (CELL_REF.match(r).groups() for r in ref)
        merged.append((int(r1), column_index(c1), int(r2), column_index(c2)))
    missing = []
    for formula in re.finditer(r"<f[ >/]", xml):  # only cells with a formula, not every cell of the sheet
        start = xml.rfind("<c ", 0, formula.start())
        end = xml.find("</c>", formula.start())
        cell = re.match(r'<c r="([A-Z]+)(\d+)"', xml[start:])
        if cell and not re.search(r"<v>[^<]+</v>", xml[start:end]):
            missing.append((int(cell.group(2)), column_index(cell.group(1))))
    return SheetFacts(merged, missing)


def load_sheet(reader, spec: FeedSpec) -> pl.DataFrame:
    try:
        return reader.load_sheet_by_name(spec.sheet, header_row=spec.header_row, dtypes="string").to_polars()
    except Exception as exc:  # fastexcel raises its own error types per failure
        raise FeedFileError(
            f"cannot read sheet {spec.sheet!r} (header expected on row {spec.header_row + 1}): {exc}"
        ) from exc


# A workbook is read whole: one that would expand past this (a zip bomb, or a sheet far beyond spreadsheet size)
# fails before it is opened. 2 GiB of XML is several million rows, more than Excel holds on one sheet.
XLSX_MAX_EXPANDED_BYTES = int(os.environ.get("DW_XLSX_MAX_EXPANDED_BYTES") or 2 << 30)


def check_expanded_size(path: Path, limit: int | None = None) -> None:
    limit = XLSX_MAX_EXPANDED_BYTES if limit is None else limit
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise FeedFileError(f"cannot open the XLSX workbook (truncated or corrupt?): {exc}") from exc
    if expanded > limit:
        raise FeedFileError(
            f"the workbook expands to {expanded:,} bytes, past the limit of {limit:,} "
            "(DW_XLSX_MAX_EXPANDED_BYTES): split the export, or send it as CSV"
        )


def open_xlsx(spec: FeedSpec, path: Path) -> OpenedExport:
    """calamine reads a sheet whole (XLSX is a zip of XML): exports of this format stay spreadsheet-sized."""
    import fastexcel

    if path.stat().st_size == 0:
        raise FeedFileError("empty file: no header and no rows")
    if not zipfile.is_zipfile(path):
        raise FeedFileError("not an XLSX workbook (not a zip archive): truncated, corrupt, or another format")
    check_expanded_size(path)
    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # fastexcel raises its own error types per failure
        raise FeedFileError(f"cannot open the XLSX workbook (truncated or corrupt?): {exc}") from exc
    if spec.sheet not in reader.sheet_names:
        raise FeedFileError(f"sheet {spec.sheet!r} not found; the workbook has: {', '.join(reader.sheet_names)}")
    # calamine parses the cells while a second thread scans the sheet's XML for merged and formula cells
    # (both release the GIL for most of their work: calamine in Rust, the XML's inflate in zlib).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sheet-facts") as scan:
        facts_future = scan.submit(sheet_facts, path, spec.sheet)
        frame = load_sheet(reader, spec)
        facts = facts_future.result()
    notes = match_headers(spec, list(frame.columns))
    frame = frame.rename({c: normalise_header(c) for c in frame.columns})
    first_data_row = spec.header_row + 2  # 1-based spreadsheet row of the first data row
    frame = frame.with_columns(
        pl.int_range(first_data_row, first_data_row + frame.height, dtype=pl.Int64).alias(ROW_NUMBER)
    )
    frame = fill_merged_cells(frame, facts, first_data_row)
    broken = []
    if facts.formulas_without_value:
        bad_rows = {row for row, _ in facts.formulas_without_value}
        columns = frame.columns
        for row, col in facts.formulas_without_value:
            if row >= first_data_row and col < len(columns) - 1:
                cells = frame.filter(pl.col(ROW_NUMBER) == row).drop(ROW_NUMBER).to_dicts()
                broken.append(
                    (
                        row,
                        f"formula cell in column {columns[col]} has no computed value",
                        {k: v for k, v in (cells[0] if cells else {}).items() if v is not None},
                    )
                )
        frame = frame.filter(~pl.col(ROW_NUMBER).is_in(list(bad_rows)))
    data_columns = [c for c in frame.columns if c != ROW_NUMBER]
    frame, skipped = drop_rows_that_are_not_data(
        frame, data_columns, lambda cell: cell.is_null() | (cell.str.strip_chars() == "")
    )
    return OpenedExport(notes, iter([Chunk(frame, broken, skipped)]))


def fill_merged_cells(frame: pl.DataFrame, facts: SheetFacts, first_data_row: int) -> pl.DataFrame:
    """A merged range holds its value in the top-left cell only; every row of the range means it."""
    if not facts.merged:
        return frame
    columns = list(frame.columns)
    data = {c: frame[c].to_list() for c in columns}
    for first_row, first_col, last_row, last_col in facts.merged:
        top = first_row - first_data_row
        if top < 0:
            continue
        for col in range(first_col, min(last_col, len(columns) - 2) + 1):
            values = data[columns[col]]
            for index in range(top + 1, min(last_row - first_data_row, len(values) - 1) + 1):
                values[index] = values[top]
    return pl.DataFrame({c: pl.Series(c, v, dtype=frame[c].dtype) for c, v in data.items()})


def open_export(spec: FeedSpec, path: Path, scan: FileScan | None = None, chunk_rows: int = CHUNK_ROWS) -> OpenedExport:
    """Check the file's encoding and header against its spec; its rows then stream chunk by chunk."""
    if spec.format == "xlsx":
        return open_xlsx(spec, path)
    return open_csv(spec, path, scan or scan_file(path), chunk_rows)


def read_export(spec: FeedSpec, path: Path) -> ReadResult:
    """The whole file at once, for tools and tests; the loader streams with `open_export` instead."""
    opened = open_export(spec, path)
    chunks = list(opened.chunks)
    frames = [c.frame for c in chunks]
    return ReadResult(
        pl.concat(frames) if frames else pl.DataFrame(),
        [row for c in chunks for row in c.broken_rows],
        sum(c.skipped_rows for c in chunks),
        opened.notes,
    )
