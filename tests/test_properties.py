"""Property-based tests of the readers and coercions (hypothesis): whatever arrives, no unexplained crash,
no valid row lost, no value silently dropped.

A test feed has one column of every kind, so the properties cover every coercion the real feeds use.
"""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingestion.coerce import DATE_FORMATS, FALSE_WORDS, REASON, TRUE_WORDS, FirstSeen, coerce, text, typed, typed_fast
from ingestion.feeds import Column, FeedSpec, Kind
from ingestion.readers import ROW_NUMBER, FeedFileError, read_export
from ingestion.reference import plausible_dates
from samples.world import VIN_ALPHABET

COLUMNS = (
    Column("编号", "row_id", Kind.CODE, required=True),
    Column("名称", "name"),
    Column("日期", "day", Kind.DATE),
    Column("时间", "moment", Kind.DATETIME),
    Column("金额", "amount", Kind.MONEY),
    Column("费率", "rate", Kind.RATE),
    Column("数量", "count", Kind.INT),
    Column("车架号", "vin", Kind.VIN),
    Column("标志", "flag", Kind.FLAG),
    Column("月份", "month", Kind.MONTH),
    Column("车牌", "plate", Kind.PLATE),
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def spec_for(encoding: str) -> FeedSpec:
    return FeedSpec("properties", "every kind of column", "csv", COLUMNS, ("row_id",), "delta", encoding=encoding)


# ---- valid cells, each with the value it must come out as ------------------------------------------
# Text the exports carry: no line breaks (one row per line), no control characters.
plain_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\ufeff"), max_size=12
)
# valid business dates lie in the plausible years of seed insurance_parameters (a date outside them is quarantined:
# tests/test_hostile.py)
days = st.dates(*plausible_dates())


@st.composite
def date_cells(draw) -> tuple[str, date]:
    day = draw(days)
    text = day.strftime(draw(st.sampled_from(DATE_FORMATS)))
    return (text + " 00:00:00" if draw(st.booleans()) else text), day


@st.composite
def datetime_cells(draw) -> tuple[str, datetime]:
    moment = datetime.combine(draw(days), datetime.min.time()).replace(
        hour=draw(st.integers(0, 23)), minute=draw(st.integers(0, 59))
    )
    return moment.strftime(draw(st.sampled_from(("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M")))), moment


@st.composite
def money_cells(draw) -> tuple[str, Decimal]:
    amount = draw(st.decimals(-999_999_999, 999_999_999, places=2, allow_nan=False, allow_infinity=False))
    style = draw(st.sampled_from(("{:.2f}", "{:,.2f}", "¥{:,.2f}", " {:.2f} ")))
    return style.format(amount), amount


@st.composite
def rate_cells(draw) -> tuple[str, float]:
    basis_points = draw(st.integers(0, 10_000))
    if draw(st.booleans()):
        return f"{basis_points / 100:g}%", basis_points / 10_000
    return f"{basis_points / 10_000:.4f}", basis_points / 10_000


@st.composite
def vin_cells(draw) -> tuple[str, str]:
    vin = "".join(draw(st.lists(st.sampled_from(VIN_ALPHABET), min_size=17, max_size=17)))
    messy = vin.lower() if draw(st.booleans()) else vin
    return (f" {messy[:8]} {messy[8:]} " if draw(st.booleans()) else messy), vin


@st.composite
def month_cells(draw) -> tuple[str, date]:
    day = draw(days)
    style = draw(st.sampled_from(("%Y-%m", "%Y/%m", "%Y年%m月", "%Y-%m-%d")))
    return day.strftime(style), day.replace(day=1)


@st.composite
def plate_cells(draw) -> tuple[str, str | None]:
    if draw(st.booleans()):
        return draw(st.sampled_from(("新车未上牌", " 新车未上牌 "))), None
    plate = "粤" + "".join(draw(st.lists(st.sampled_from(VIN_ALPHABET), min_size=6, max_size=6)))
    return (f"{plate[:2]} {plate[2:]}" if draw(st.booleans()) else plate), plate


@st.composite
def valid_rows(draw) -> list[tuple[list[str], dict]]:
    rows = []
    for index in range(draw(st.integers(1, 40))):
        name = draw(plain_text)
        cells = {
            "day": draw(date_cells()),
            "moment": draw(datetime_cells()),
            "amount": draw(money_cells()),
            "rate": draw(rate_cells()),
            "vin": draw(vin_cells()),
            "month": draw(month_cells()),
            "plate": draw(plate_cells()),
        }
        count = draw(st.integers(-(10**9), 10**9))
        flag = draw(st.sampled_from(TRUE_WORDS + FALSE_WORDS))
        texts = [f"R{index}", name, *(cells[k][0] for k in ("day", "moment", "amount", "rate")), str(count)]
        texts += [cells["vin"][0], flag, cells["month"][0], cells["plate"][0]]
        expected = {k: v[1] for k, v in cells.items()} | {
            "row_id": f"R{index}",
            "name": name.strip() or None,
            "count": count,
            "flag": flag in TRUE_WORDS,
        }
        rows.append((texts, expected))
    return rows


def write_csv(path: Path, rows: list[list[str]], encoding: str, blank_every: int = 0) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in COLUMNS])
    for number, row in enumerate(rows, start=1):
        writer.writerow(row)
        if blank_every and number % blank_every == 0:
            buffer.write("\r\n")
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def load(path: Path, spec: FeedSpec):
    read = read_export(spec, path)
    return read, coerce(spec, read.frame)


@SETTINGS
@given(rows=valid_rows(), encoding=st.sampled_from(("utf-8", "gbk")), blank_every=st.integers(0, 5))
def test_every_valid_row_comes_out_typed_exactly(tmp_path, rows, encoding, blank_every):
    path = write_csv(tmp_path / "20261120_valid.csv", [r[0] for r in rows], "gb18030", blank_every)
    if encoding == "utf-8":
        path.write_bytes(path.read_bytes().decode("gb18030").encode("utf-8-sig"))
    read, result = load(path, spec_for(encoding))
    assert result.rejected.is_empty(), result.rejected.to_dicts()
    assert read.broken_rows == []
    assert result.valid.height == len(rows)
    for (_, expected), got in zip(rows, result.valid.sort(ROW_NUMBER).to_dicts(), strict=True):
        assert got["rate"] is not None and abs(got["rate"] - expected.pop("rate")) < 1e-9
        assert {k: got[k] for k in expected} == expected


# ---- arbitrary cells: every row is loaded, or quarantined with a reason ----------------------------
@SETTINGS
@given(cells=st.lists(st.lists(plain_text, min_size=len(COLUMNS) - 1, max_size=len(COLUMNS) - 1), max_size=30))
def test_arbitrary_cells_are_typed_or_quarantined_with_a_reason_never_lost(tmp_path, cells):
    rows = [[f"R{i}", *row] for i, row in enumerate(cells)]
    read, result = load(write_csv(tmp_path / "20261120_cells.csv", rows, "utf-8"), spec_for("utf-8"))
    assert read.broken_rows == []
    assert result.valid.height + result.rejected.height == len(rows)
    assert result.rejected[REASON].null_count() == 0
    assert all(reason.strip() for reason in result.rejected[REASON])
    # A cell that had text never becomes an empty value silently: either it typed or its row is quarantined.
    text = read.frame.sort(ROW_NUMBER)
    typed = result.valid.sort(ROW_NUMBER)
    kept = text.filter(pl.col(ROW_NUMBER).is_in(typed[ROW_NUMBER].implode()))
    for column in COLUMNS:
        had_text = kept[column.header].str.strip_chars() != ""
        assert (had_text & typed[column.name].is_null()).sum() == 0, column.name


# ---- arbitrary bytes and encodings: loaded, or a FeedFileError that says why ------------------------
@SETTINGS
@given(data=st.binary(max_size=2_000), encoding=st.sampled_from(("utf-8", "gbk")), header=st.booleans())
def test_random_bytes_never_crash_with_an_unexplained_error(tmp_path, data, encoding, header):
    head = ",".join(c.header for c in COLUMNS).encode("gb18030" if encoding == "gbk" else "utf-8") + b"\r\n"
    path = tmp_path / "20261120_bytes.csv"
    path.write_bytes((head if header else b"") + data)
    try:
        read, result = load(path, spec_for(encoding))
    except FeedFileError as error:
        assert str(error).strip()
        return
    assert result.rejected[REASON].null_count() == 0
    assert all(reason for _, reason, _ in read.broken_rows)


@SETTINGS
@given(
    rows=valid_rows(),
    written=st.sampled_from(("utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "big5")),
    expected_encoding=st.sampled_from(("utf-8", "gbk")),
)
def test_any_encoding_loads_every_row_or_is_a_clear_file_error(tmp_path, rows, written, expected_encoding):
    texts = [r[0] for r in rows]
    try:
        path = write_csv(tmp_path / "20261120_encoded.csv", texts, written)
    except UnicodeEncodeError:
        return  # the text cannot be written in that encoding at all
    try:
        _, result = load(path, spec_for(expected_encoding))
    except FeedFileError as error:
        assert "encoding" in str(error) or "missing column" in str(error)
        return
    assert result.rejected.is_empty()
    assert result.valid.height == len(rows)
    assert result.valid.sort(ROW_NUMBER)["name"].to_list() == [r[1]["name"] for r in rows]


@SETTINGS
@given(
    keys=st.lists(st.sampled_from(["A1", "A2", "B7", "C3"]), min_size=1, max_size=40),
    amounts=st.lists(st.sampled_from(["10.00", "12.50", "x"]), min_size=40, max_size=40),
    cuts=st.lists(st.integers(1, 39), max_size=6),
)
def test_duplicates_are_found_across_chunks_exactly_as_in_one_piece(keys, amounts, cuts):
    # Few keys and amounts, so rows repeat whole (duplicate row) or by key (duplicate key) across chunk borders.
    frame = pl.DataFrame(
        {ROW_NUMBER: list(range(2, len(keys) + 2))}
        | {c.header: [""] * len(keys) for c in COLUMNS}
        | {"编号": keys, "金额": amounts[: len(keys)]},
        schema={ROW_NUMBER: pl.Int64} | {c.header: pl.String for c in COLUMNS},
    )
    whole = coerce(spec_for("utf-8"), frame)
    first_seen = FirstSeen()
    bounds = sorted({0, *[c for c in cuts if c < frame.height], frame.height})
    pieces = [coerce(spec_for("utf-8"), frame.slice(a, b - a), first_seen) for a, b in itertools.pairwise(bounds)]
    assert pl.concat([p.valid for p in pieces]).equals(whole.valid)
    assert pl.concat([p.rejected for p in pieces]).sort(ROW_NUMBER).equals(whole.rejected.sort(ROW_NUMBER))
    # Each key loads once at most, from its first row, whatever the chunking.
    first_rows = {key: keys.index(key) + 2 for key in keys}
    valid_keys = dict(zip(whole.valid["row_id"], whole.valid[ROW_NUMBER], strict=True))
    assert all(first_rows[key] == row for key, row in valid_keys.items())


# ---- the shortcut parsers: a value they give is the value the complete parser gives -----------------
# Cells built from the pieces dates, amounts and VINs are made of, so that many almost parse.
PIECES = (
    "2025 05 5 31 - / . 00:00:00 12:30 1,234 ¥ 0.50 １ 粤B 新车未上牌 LSVMWUZUTK81DYE5G lsvmwuzutk81dye5g I O + e3 年"
)
cell_pieces = st.lists(st.sampled_from([*PIECES.split(), " ", "\t", ""]), max_size=5).map("".join)


TRICKY_CELLS = ["+5", "5.", ".5", "1e3", "2025/5/31", "2025-05-31 00:00:00", "lsvmwuzutk81dye5g", "LSVMW UZUTK81DYE5G"]


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.one_of(cell_pieces, plain_text), min_size=1, max_size=200))
@example(cells=TRICKY_CELLS)
def test_shortcut_parsers_agree_with_the_complete_ones(cells):
    for column in COLUMNS:
        shortcut = typed_fast(column)
        if shortcut is None:
            continue
        trimmed = pl.DataFrame({column.header: cells}).select(text(column))
        got = trimmed.select(shortcut.alias("fast"), typed(column).alias("complete"))
        disagree = got.filter(pl.col("fast").is_not_null() & (pl.col("fast") != pl.col("complete")).fill_null(True))
        assert disagree.is_empty(), (column.kind, trimmed.filter(pl.col("fast").is_not_null()).to_series().to_list())
