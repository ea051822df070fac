"""Type the text cells against the feed spec and split valid rows from quarantined ones.

Vectorised in polars: every column is cast with `strict=False`, and a cell that had text but came out
null gets a reason naming the column and the value. Row rules of the spec and in-file duplicates add
their own reasons. A row with any reason goes to `raw._rejects` with its original cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import polars as pl

from ingestion.feeds import Column, FeedSpec, Kind, RowRule
from ingestion.readers import ROW_NUMBER
from ingestion.reference import STORE_COLUMNS, UNBOUNDED_DATES, plausible_dates, store_codes

REASON = "_reason"
FAILS = "_fails"
FIRST_SAME_ROW = "_first_same_row"
FIRST_SAME_KEY = "_first_same_key"
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M:%S")
VIN_PATTERN = r"^[A-HJ-NPR-Z0-9]{17}$"
PLAIN_NUMBER = r"^-?\d+(\.\d+)?$"
MONEY_NUMBER = r"^-?\d+(\.\d{1,2})?$"
GROUPED_AMOUNT = r"^-?(\d+|\d{1,3}([,，]\d{3})+)(\.\d*)?$"
MONEY = pl.Decimal(14, 2)
NO_PLATE = "新车未上牌"
TRUE_WORDS = ("是", "Y", "y", "YES", "yes", "true", "TRUE", "1")
FALSE_WORDS = ("否", "N", "n", "NO", "no", "false", "FALSE", "0")


@dataclass
class Coerced:
    valid: pl.DataFrame  # our column names, typed, plus _row_number
    rejected: pl.DataFrame  # _row_number, _reason, and the original cells as JSON text


def text(column: Column) -> pl.Expr:
    """The cell as delivered, trimmed, empty as null: computed once per chunk, under the column's header."""
    return pl.col(column.header).str.strip_chars().replace("", None)


def parse_date(cell: pl.Expr) -> pl.Expr:
    # Spreadsheet dates arrive as `2025-03-07 00:00:00`: parse the date part of any timestamp.
    day = cell.str.split_exact(" ", 1).struct.field("field_0")
    return pl.coalesce([day.str.strptime(pl.Date, f, strict=False) for f in DATE_FORMATS])


def parse_datetime(cell: pl.Expr) -> pl.Expr:
    return pl.coalesce(
        [cell.str.strptime(pl.Datetime("us"), f, strict=False) for f in DATETIME_FORMATS]
        + [parse_date(cell).cast(pl.Datetime("us"))]
    )


def parse_money(cell: pl.Expr) -> pl.Expr:
    # Commas only as thousands separators (1,234.50); a foreign format (1.234,50) or stray commas (1,2,3) are
    # rejected, never reinterpreted; at most two decimals (1.234 could be a thousand-and-something).
    bare = cell.str.replace_all(r"[¥\s]", "")
    grouped = bare.str.contains(GROUPED_AMOUNT)
    cleaned = bare.str.replace_all(r"[,，]", "")
    return pl.when(grouped & cleaned.str.contains(MONEY_NUMBER)).then(cleaned).otherwise(None).cast(MONEY, strict=False)


def parse_rate(cell: pl.Expr) -> pl.Expr:
    percent = cell.str.ends_with("%")
    number = cell.str.strip_chars_end("%").str.strip_chars().cast(pl.Float64, strict=False)
    fraction = pl.when(percent).then(number / 100).otherwise(number)
    return pl.when(fraction.is_between(0, 1)).then(fraction.round(4)).otherwise(None)


def parse_month(cell: pl.Expr) -> pl.Expr:
    compact = cell.str.replace_all(r"[/.年月]", "-").str.strip_chars("-")
    return pl.coalesce(
        [
            (compact + "-01").str.strptime(pl.Date, "%Y-%m-%d", strict=False),
            parse_date(cell),
        ]
    ).dt.month_start()


def typed(column: Column) -> pl.Expr:
    """The complete parser of a column's kind: every spelling the source contract allows."""
    cell = pl.col(column.header)
    match column.kind:
        case Kind.DATE:
            return parse_date(cell)
        case Kind.DATETIME:
            return parse_datetime(cell)
        case Kind.MONEY:
            return parse_money(cell)
        case Kind.RATE:
            return parse_rate(cell)
        case Kind.INT:
            return cell.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False)
        case Kind.VIN:
            vin = cell.str.replace_all(r"\s", "").str.to_uppercase()
            return pl.when(vin.str.contains(VIN_PATTERN)).then(vin).otherwise(None)
        case Kind.PLATE:
            plate = cell.str.replace_all(r"\s", "")
            return pl.when(plate == NO_PLATE).then(None).otherwise(plate)
        case Kind.FLAG:
            return pl.when(cell.is_in(TRUE_WORDS)).then(True).when(cell.is_in(FALSE_WORDS)).then(False).otherwise(None)
        case Kind.MONTH:
            return parse_month(cell)
        case _:
            return cell


def typed_fast(column: Column) -> pl.Expr | None:
    """The spelling nearly every cell of the kind has, at a fraction of the cost of `typed`; None when no
    kind-specific shortcut exists.

    Where it gives a value it is the value `typed` gives (a property test holds it to that); cells it leaves
    null although they had text go through `typed`. Polars evaluates every branch of a coalesce on every
    row, so trying four date formats on all rows cost four times one format.
    """
    cell = pl.col(column.header)
    match column.kind:
        case Kind.DATE:  # `typed`'s first format, on a cell without the time part `typed` would split off
            day = cell.str.strptime(pl.Date, DATE_FORMATS[0], strict=False)
            return pl.when(cell.str.contains(" ", literal=True)).then(None).otherwise(day)
        case Kind.DATETIME:
            return cell.str.strptime(pl.Datetime("us"), DATETIME_FORMATS[0], strict=False)
        case Kind.MONEY:  # already a plain number: nothing for `typed` to clean
            return pl.when(cell.str.contains(MONEY_NUMBER)).then(cell).otherwise(None).cast(MONEY, strict=False)
        case Kind.PLATE:  # without whitespace and not 新车未上牌: the plate as it is
            return pl.when(cell.str.contains(r"\s") | (cell == NO_PLATE)).then(None).otherwise(cell)
        case Kind.VIN:  # without whitespace, so only the upper-casing of `typed` applies
            vin = cell.str.to_uppercase()
            return pl.when(vin.str.contains(VIN_PATTERN)).then(vin).otherwise(None)
        case _:
            return None


READABLE = {
    Kind.DATE: "is not a date",
    Kind.DATETIME: "is not a date and time",
    Kind.MONEY: "is not an amount",
    Kind.RATE: "is not a rate between 0 and 1 (like 18% or 0.18)",
    Kind.INT: "is not a whole number",
    Kind.FLAG: "is not 是/否 or Y/N",
    Kind.MONTH: "is not a month like 2026-11",
    Kind.VIN: "has characters a VIN cannot have",
}


@dataclass(frozen=True)
class Check:
    """One way a row can fail: a cheap boolean over every row, and the reason text, built only for rows that fail."""

    fails: pl.Expr
    reason: pl.Expr


def cell_checks(column: Column) -> list[Check]:
    """Checks over a frame that holds the cell (under its header) and its typed value (under its name)."""
    cell = pl.col(column.header)
    value = pl.col(column.name)
    shown = pl.lit(f"{column.header}: ") + pl.lit("'") + cell + pl.lit("'")
    checks = []
    if column.required:
        checks.append(Check(cell.is_null(), pl.lit(f"{column.header} is empty")))
    if column.kind == Kind.VIN:
        vin = cell.str.replace_all(r"\s", "")
        reason = (
            pl.when(vin.str.len_chars() != 17)
            .then(shown + pl.lit(" is not a 17-character VIN"))
            .otherwise(shown + pl.lit(f" {READABLE[Kind.VIN]}"))
        )
        checks.append(Check(cell.is_not_null() & value.is_null(), reason))
    elif column.kind in READABLE:
        checks.append(Check(cell.is_not_null() & value.is_null(), shown + pl.lit(f" {READABLE[column.kind]}")))
    checks.extend(reference_checks(column, value, shown))
    if column.values:
        allowed = "/".join(column.values)
        checks.append(
            Check(
                value.is_not_null() & ~value.cast(pl.String).is_in(list(column.values)),
                shown + pl.lit(f" is not one of {allowed}"),
            )
        )
    return checks


def reference_checks(column: Column, value: pl.Expr, shown: pl.Expr) -> list[Check]:
    """A business date outside the plausible years, a store code not in seed stores (ingestion/reference.py)."""
    if column.kind in (Kind.DATE, Kind.DATETIME, Kind.MONTH) and column.name not in UNBOUNDED_DATES:
        first, last = plausible_dates()
        day = value.cast(pl.Date)
        outside = value.is_not_null() & ((day < first) | (day > last))
        return [Check(outside, shown + pl.lit(f" is outside the plausible dates {first} to {last}"))]
    if column.name in STORE_COLUMNS:
        known = list(store_codes())
        return [Check(value.is_not_null() & ~value.is_in(known), shown + pl.lit(" is not a store of seed stores"))]
    return []


def rule_check(rule: RowRule) -> Check:
    reason = rule()  # a rule is its reason text, null when the row passes
    return Check(reason.is_not_null(), reason)


def duplicate_checks(first_same_row: pl.Expr, first_same_key: pl.Expr, key: tuple[str, ...]) -> list[Check]:
    row = pl.col(ROW_NUMBER)
    return [
        Check(row != first_same_row, pl.lit("duplicate row: same cells as row ") + first_same_row.cast(pl.String)),
        Check(
            (row == first_same_row) & (row != first_same_key),
            pl.lit(f"duplicate key ({', '.join(key)}) with different values from row ")
            + first_same_key.cast(pl.String),
        ),
    ]


def join_reasons(checks: list[Check]) -> pl.Expr:
    """The reasons of every failing check of a row joined with `; `."""
    return pl.concat_str([pl.when(c.fails).then(c.reason) for c in checks], separator="; ", ignore_nulls=True)


class FirstSeen:
    """The first row of every distinct row and key of a file, across the chunks read so far.

    Rows and keys are identified by two independent 64-bit hashes of their cells, so memory grows by
    24 bytes per distinct row, never by the row's text. Lookups are polars hash joins, so a file's later
    chunks cost no more than its first; a chunk whose first hashes repeat nothing, the usual case, needs no
    grouping at all.
    """

    def __init__(self) -> None:
        self.seen: dict[str, pl.DataFrame] = {}  # per "row" or "key": h1, h2, first (one row per distinct)

    def first_rows(self, frame: pl.DataFrame, what: str, columns: list[str]) -> pl.Series:
        cells = frame.select(columns)
        keyed = pl.DataFrame({"h1": cells.hash_rows(1), "h2": cells.hash_rows(2), "first": frame[ROW_NUMBER]})
        seen = self.seen.get(what, keyed.clear())
        repeats = keyed["h1"].is_duplicated().any() or keyed["h1"].is_in(seen["h1"]).any()
        if not repeats:
            self.seen[what] = pl.concat([seen, keyed])
            return keyed["first"]
        # The first row of each group in this chunk (rows are in file order), unless an earlier chunk had one.
        here = keyed.select(pl.col("first").first().over("h1", "h2")).to_series()
        earlier = keyed.join(seen, on=["h1", "h2"], how="left", maintain_order="left", suffix="_earlier")
        first = earlier["first_earlier"].fill_null(here).alias("first")
        new_groups = keyed.filter((keyed["first"] == here) & earlier["first_earlier"].is_null())
        self.seen[what] = pl.concat([seen, new_groups])
        return first


@dataclass(frozen=True)
class Plan:
    """A feed's expressions, built once per feed: building them costs more than typing a small file."""

    cells: list[pl.Expr]  # every cell trimmed, empty as null, under its header
    fast: list[pl.Expr]  # every column typed: the shortcut where its kind has one, else the complete parser
    missed: list[pl.Expr]  # per column with a shortcut: the cell had text, the shortcut gave no value
    complete: dict[str, tuple[str, pl.Expr]]  # header and complete parser of those columns, for the missed cells
    fails: pl.Expr
    reasons: pl.Expr


@cache
def plan(spec: FeedSpec) -> Plan:
    checks = [
        *(check for c in spec.columns for check in cell_checks(c)),
        *(rule_check(rule) for rule in spec.rules),
        *duplicate_checks(pl.col(FIRST_SAME_ROW), pl.col(FIRST_SAME_KEY), spec.key),
    ]
    shortcuts = {c.name: (c, fast) for c in spec.columns if (fast := typed_fast(c)) is not None}
    return Plan(
        cells=[pl.col(ROW_NUMBER), *[text(c).alias(c.header) for c in spec.columns]],
        fast=[(shortcuts[c.name][1] if c.name in shortcuts else typed(c)).alias(c.name) for c in spec.columns],
        missed=[
            (pl.col(c.header).is_not_null() & pl.col(name).is_null()).alias(name) for name, (c, _) in shortcuts.items()
        ],
        complete={name: (c.header, typed(c).alias(name)) for name, (c, _) in shortcuts.items()},
        fails=pl.any_horizontal([c.fails for c in checks]).fill_null(False).alias(FAILS),
        reasons=join_reasons(checks).alias(REASON),
    )


def type_cells(feed: Plan, cells: pl.DataFrame) -> pl.DataFrame:
    """The shortcut on every cell, then the complete parser on the few cells it missed."""
    values = cells.with_columns(feed.fast)
    missed = values.select(feed.missed)
    for flags in missed.iter_columns():
        if flags.any():
            rows = flags.arg_true()
            header, complete = feed.complete[flags.name]
            redone = values.select(pl.col(header).gather(rows)).select(complete).to_series()
            values = values.with_columns(values[flags.name].scatter(rows, redone))
    return values


def coerce(
    spec: FeedSpec, frame: pl.DataFrame, first_seen: FirstSeen | None = None, scope: str | None = None
) -> Coerced:
    """Type one chunk of a file; `first_seen` carries the duplicate checks over from earlier chunks.

    `scope` names a column of `frame` that tells apart files typed together: it is kept in both results, and
    duplicates are looked for among rows with the same value only.
    """
    first_seen = first_seen or FirstSeen()
    feed = plan(spec)
    headers = [c.header for c in spec.columns]
    kept = [scope] if scope else []
    absent = [c.header for c in spec.columns if c.optional and c.header not in frame.columns]
    if absent:  # an older file without a later version's columns: they load empty
        frame = frame.with_columns(pl.lit(None, pl.String).alias(header) for header in absent)
    values = type_cells(feed, frame.select(*feed.cells, *kept))
    # A duplicate row has the same cells as delivered; a duplicate key the same typed key.
    values = values.with_columns(
        first_seen.first_rows(frame, "row", [*headers, *kept]).alias(FIRST_SAME_ROW),
        first_seen.first_rows(values, "key", [*spec.key, *kept]).alias(FIRST_SAME_KEY),
    )
    # Nearly every row passes: test the cheap conditions on all rows, write reasons only for the few that fail.
    fails = values.select(feed.fails).to_series()
    valid = values.filter(~fails).select(ROW_NUMBER, *[c.name for c in spec.columns], *kept)
    if not fails.any():
        schema = {ROW_NUMBER: pl.Int64, REASON: pl.String, **dict(valid.select(kept).schema), "cells": pl.String}
        return Coerced(valid, pl.DataFrame(schema=schema))
    rejected = values.filter(fails).select(ROW_NUMBER, feed.reasons, *kept)
    cells = frame.filter(fails).select(pl.struct(headers).struct.json_encode().alias("cells"))
    return Coerced(valid, rejected.hstack(cells))
