"""Type the text cells against the feed spec and split valid rows from quarantined ones.

Vectorised in polars: every column is cast with `strict=False`, and a cell that had text but came out
null gets a reason naming the column and the value. Row rules of the spec and in-file duplicates add
their own reasons. A row with any reason goes to `raw._rejects` with its original cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ingestion.feeds import Column, FeedSpec, Kind
from ingestion.readers import ROW_NUMBER

REASON = "_reason"
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M:%S")
VIN_PATTERN = r"^[A-HJ-NPR-Z0-9]{17}$"
NO_PLATE = "新车未上牌"
TRUE_WORDS = ("是", "Y", "y", "YES", "yes", "true", "TRUE", "1")
FALSE_WORDS = ("否", "N", "n", "NO", "no", "false", "FALSE", "0")


@dataclass
class Coerced:
    valid: pl.DataFrame  # our column names, typed, plus _row_number
    rejected: pl.DataFrame  # _row_number, _reason, and the original cells as JSON text


def text(column: Column) -> pl.Expr:
    cell = pl.col(column.header).str.strip_chars()
    return pl.when(cell == "").then(None).otherwise(cell)


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
    cleaned = cell.str.replace_all(r"[,，¥\s]", "")
    return (
        pl.when(cleaned.str.contains(r"^-?\d+(\.\d+)?$"))
        .then(cleaned)
        .otherwise(None)
        .cast(pl.Decimal(14, 2), strict=False)
    )


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
    cell = text(column)
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


def cell_reasons(column: Column) -> list[pl.Expr]:
    """Reasons over a frame that holds the cell (under its header) and its typed value (under its name)."""
    cell = text(column)
    value = pl.col(column.name)
    shown = pl.lit(f"{column.header}: ") + pl.lit("'") + cell + pl.lit("'")
    reasons = []
    if column.required:
        reasons.append(pl.when(cell.is_null()).then(pl.lit(f"{column.header} is empty")))
    readable = {
        Kind.DATE: "is not a date",
        Kind.DATETIME: "is not a date and time",
        Kind.MONEY: "is not an amount",
        Kind.RATE: "is not a rate between 0 and 1 (like 18% or 0.18)",
        Kind.INT: "is not a whole number",
        Kind.FLAG: "is not 是/否 or Y/N",
        Kind.MONTH: "is not a month like 2026-11",
    }
    if column.kind == Kind.VIN:
        vin = cell.str.replace_all(r"\s", "")
        reasons.append(
            pl.when(cell.is_not_null() & (vin.str.len_chars() != 17))
            .then(shown + pl.lit(" is not a 17-character VIN"))
            .when(cell.is_not_null() & value.is_null())
            .then(shown + pl.lit(" has characters a VIN cannot have"))
        )
    elif column.kind in readable:
        reasons.append(pl.when(cell.is_not_null() & value.is_null()).then(shown + pl.lit(f" {readable[column.kind]}")))
    if column.values:
        allowed = "/".join(column.values)
        reasons.append(
            pl.when(value.is_not_null() & ~value.cast(pl.String).is_in(list(column.values))).then(
                shown + pl.lit(f" is not one of {allowed}")
            )
        )
    return reasons


def join_reasons(reasons: list[pl.Expr]) -> pl.Expr:
    """All reasons of a row joined with `; `, or null when the row has none."""
    if not reasons:
        return pl.lit(None, dtype=pl.String)
    joined = pl.concat_str(reasons, separator="; ", ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)


class FirstSeen:
    """The first row of every distinct row and key of a file, across the chunks read so far.

    Rows and keys are identified by two independent 64-bit hashes of their cells, so memory grows by
    24 bytes per distinct row, never by the row's text.
    """

    def __init__(self) -> None:
        self.seen: dict[str, pl.DataFrame] = {}

    def first_rows(self, frame: pl.DataFrame, what: str, columns: list[str]) -> pl.Series:
        identity = frame.select(
            pl.struct(columns).hash(1).alias("h1"), pl.struct(columns).hash(2).alias("h2"), pl.col(ROW_NUMBER)
        )
        in_chunk = identity.group_by("h1", "h2").agg(pl.col(ROW_NUMBER).min().alias("first"))
        earlier = self.seen.get(what)
        if earlier is not None:
            in_chunk = in_chunk.join(earlier, on=["h1", "h2"], how="left", suffix="_earlier").select(
                "h1", "h2", pl.coalesce("first_earlier", "first").alias("first")
            )
            self.seen[what] = pl.concat([earlier, in_chunk.join(earlier, on=["h1", "h2"], how="anti")])
        else:
            self.seen[what] = in_chunk
        return identity.join(in_chunk, on=["h1", "h2"], how="left", maintain_order="left")["first"]


def coerce(spec: FeedSpec, frame: pl.DataFrame, first_seen: FirstSeen | None = None) -> Coerced:
    """Type one chunk of a file; `first_seen` carries the duplicate checks over from earlier chunks."""
    first_seen = first_seen or FirstSeen()
    headers = [c.header for c in spec.columns]
    typed_frame = frame.select(
        pl.col(ROW_NUMBER), *[pl.col(h) for h in headers], *[typed(c).alias(c.name) for c in spec.columns]
    )
    cell_level = [r for c in spec.columns for r in cell_reasons(c)]
    rules = [rule() for rule in spec.rules]
    first_same_row = pl.lit(first_seen.first_rows(typed_frame, "row", headers))
    first_same_key = pl.lit(first_seen.first_rows(typed_frame, "key", list(spec.key)))
    checked = (
        typed_frame.lazy()
        .with_columns(
            join_reasons(
                [
                    *cell_level,
                    *rules,
                    pl.when(pl.col(ROW_NUMBER) != first_same_row)
                    .then(pl.lit("duplicate row: same cells as row ") + first_same_row.cast(pl.String))
                    .when(pl.col(ROW_NUMBER) != first_same_key)
                    .then(
                        pl.lit(f"duplicate key ({', '.join(spec.key)}) with different values from row ")
                        + first_same_key.cast(pl.String)
                    ),
                ]
            ).alias(REASON)
        )
        .collect()
    )
    valid = checked.filter(pl.col(REASON).is_null()).select(ROW_NUMBER, *[c.name for c in spec.columns])
    rejected = checked.filter(pl.col(REASON).is_not_null()).select(
        ROW_NUMBER, REASON, pl.struct(headers).struct.json_encode().alias("cells")
    )
    return Coerced(valid, rejected)
