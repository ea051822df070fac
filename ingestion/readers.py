"""Read an export into a frame of text cells, exactly as delivered, with each row's line number.

Shared by every feed: the spec says format, encoding, delimiter, sheet and header row. Nothing is typed
here; `coerce.py` does that. Rows that cannot be read as rows (too few or too many cells) come back
separately so they can be quarantined with their reason.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ingestion.feeds import FeedSpec

ROW_NUMBER = "_row_number"
TOTAL_ROW_MARKERS = ("合计", "总计")


class FeedFileError(Exception):
    """The whole file cannot be loaded; the message says exactly why, for the ledger and the on-call."""


@dataclass
class ReadResult:
    frame: pl.DataFrame  # text cells under the spec's headers, plus _row_number
    broken_rows: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)  # (row, reason, cells)
    skipped_rows: int = 0  # total rows and blank rows, which are not data
    notes: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.frame.height + len(self.broken_rows)


def normalise_header(header: str) -> str:
    return header.replace("\ufeff", "").replace("（", "(").replace("）", ")").strip()


def match_headers(spec: FeedSpec, headers: list[str]) -> list[str]:
    """Check the header against the spec; return notes. A missing or renamed column is a file error."""
    seen = [normalise_header(h) for h in headers]
    duplicated = sorted({h for h in seen if seen.count(h) > 1 and h})
    if duplicated:
        raise FeedFileError(f"column header repeated: {', '.join(duplicated)}")
    expected = [c.header for c in spec.columns]
    missing = [h for h in expected if h not in seen]
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


def decode(spec: FeedSpec, data: bytes) -> str:
    """Decode with the feed's encoding; a file saved in the other encoding gets a clear error."""
    if not data.strip():
        raise FeedFileError("empty file: no header and no rows")
    if spec.encoding == "gbk":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
        else:
            if not text.isascii():
                raise FeedFileError(f"wrong encoding: feed {spec.feed_id} is exported in GBK, but this file is UTF-8")
        try:
            return data.decode("gb18030")  # a superset of GBK: real exports carry characters outside GBK
        except UnicodeDecodeError as exc:
            raise FeedFileError(f"wrong encoding: not GBK text (undecodable bytes at offset {exc.start})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            data.decode("gb18030")
            hint = "; it looks GBK-encoded"
        except UnicodeDecodeError:
            hint = ""
        raise FeedFileError(
            f"wrong encoding: feed {spec.feed_id} is exported in UTF-8, undecodable bytes at offset {exc.start}{hint}"
        ) from exc


def is_total_row(first_cell: str | None) -> bool:
    return bool(first_cell) and first_cell.strip().startswith(TOTAL_ROW_MARKERS)


def read_csv(spec: FeedSpec, data: bytes) -> ReadResult:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    text = decode(spec, data)
    lines = text.splitlines()
    header = next(csv.reader([lines[0]], delimiter=spec.delimiter))
    notes = match_headers(spec, header)
    names = [normalise_header(h) for h in header]
    # pyarrow drops blank lines and reports rows of the wrong width through the handler: map both back
    # to physical line numbers so that every reject names the line a person can find in the file.
    data_lines = [number for number, line in enumerate(lines[1:], start=2) if line.strip()]
    broken: list[tuple[int, str, dict[str, str]]] = []
    skipped_lines: set[int] = set()
    totals = 0

    def on_bad_row(row) -> str:
        nonlocal totals
        cells = next(csv.reader([row.text], delimiter=spec.delimiter), [])
        skipped_lines.add(row.number)
        if cells and is_total_row(cells[0]):
            totals += 1
        else:
            reason = f"row has {row.actual_columns} cells, the header has {row.expected_columns}"
            broken.append((row.number, reason, {f"cell_{i + 1}": c for i, c in enumerate(cells)}))
        return "skip"

    if not data_lines:
        empty = pl.DataFrame({n: pl.Series(n, [], dtype=pl.String) for n in names})
        return ReadResult(empty.with_columns(pl.Series(ROW_NUMBER, [], dtype=pl.Int64)), [], 0, notes)
    body = "\n".join(lines[1:]).encode("utf-8")
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=spec.delimiter, invalid_row_handler=on_bad_row),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise FeedFileError(f"cannot parse as {spec.delimiter!r}-delimited CSV: {exc}") from exc
    # pyarrow numbers lines from the first line it was given (line 2 of the file) starting at 1.
    skipped_physical = {data_lines[n - 1] for n in skipped_lines if 0 < n <= len(data_lines)}
    broken = [(data_lines[n - 1] if 0 < n <= len(data_lines) else n, reason, cells) for n, reason, cells in broken]
    good_lines = [n for n in data_lines if n not in skipped_physical]
    frame = pl.from_arrow(table)
    if not isinstance(frame, pl.DataFrame):  # pragma: no cover - from_arrow of a table is a frame
        raise FeedFileError("unexpected CSV structure")
    frame = frame.with_columns(pl.Series(ROW_NUMBER, good_lines[: frame.height], dtype=pl.Int64))
    frame, more_totals = drop_total_rows(frame, names[0])
    return ReadResult(frame, broken, totals + more_totals + (len(lines) - 1 - len(data_lines)), notes)


def drop_total_rows(frame: pl.DataFrame, first_column: str) -> tuple[pl.DataFrame, int]:
    is_total = pl.col(first_column).str.strip_chars().str.starts_with(TOTAL_ROW_MARKERS[0]) | pl.col(
        first_column
    ).str.strip_chars().str.starts_with(TOTAL_ROW_MARKERS[1])
    totals = frame.filter(is_total.fill_null(False)).height
    return frame.filter(~is_total.fill_null(False)), totals


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
        xml = archive.read(name if name.startswith("xl/") else f"xl/{name}").decode("utf-8")
    merged = []
    for ref in re.findall(r'<mergeCell ref="([A-Z]+\d+):([A-Z]+\d+)"', xml):
        (c1, r1), (c2, r2) = (CELL_REF.match(r).groups() for r in ref)
        merged.append((int(r1), column_index(c1), int(r2), column_index(c2)))
    missing = []
    for ref, body in re.findall(r'<c r="([A-Z]+\d+)"[^>]*>(.*?)</c>', xml):
        if "<f" in body and not re.search(r"<v>[^<]+</v>", body):
            col, row = CELL_REF.match(ref).groups()
            missing.append((int(row), column_index(col)))
    return SheetFacts(merged, missing)


def read_xlsx(spec: FeedSpec, path: Path) -> ReadResult:
    import fastexcel

    if path.stat().st_size == 0:
        raise FeedFileError("empty file: no header and no rows")
    if not zipfile.is_zipfile(path):
        raise FeedFileError("not an XLSX workbook (not a zip archive): truncated, corrupt, or another format")
    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # fastexcel raises its own error types per failure
        raise FeedFileError(f"cannot open the XLSX workbook (truncated or corrupt?): {exc}") from exc
    if spec.sheet not in reader.sheet_names:
        raise FeedFileError(f"sheet {spec.sheet!r} not found; the workbook has: {', '.join(reader.sheet_names)}")
    try:
        sheet = reader.load_sheet_by_name(spec.sheet, header_row=spec.header_row, dtypes="string")
        frame = sheet.to_polars()
    except Exception as exc:
        raise FeedFileError(
            f"cannot read sheet {spec.sheet!r} (header expected on row {spec.header_row + 1}): {exc}"
        ) from exc
    notes = match_headers(spec, list(frame.columns))
    frame = frame.rename({c: normalise_header(c) for c in frame.columns})
    first_data_row = spec.header_row + 2  # 1-based spreadsheet row of the first data row
    frame = frame.with_columns(
        pl.int_range(first_data_row, first_data_row + frame.height, dtype=pl.Int64).alias(ROW_NUMBER)
    )
    facts = sheet_facts(path, spec.sheet)
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
    blank = pl.all_horizontal([pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in data_columns])
    blanks = frame.filter(blank).height
    frame = frame.filter(~blank)
    frame, totals = drop_total_rows(frame, data_columns[0])
    return ReadResult(frame, broken, blanks + totals, notes)


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


def read_export(spec: FeedSpec, path: Path) -> ReadResult:
    if spec.format == "xlsx":
        return read_xlsx(spec, path)
    return read_csv(spec, path.read_bytes())
