"""What the loader is compared with: plain COPY, pandas `to_sql`, openpyxl and bare calamine.

Every function returns the rows it handled and the seconds it took, measured on the same files the
loader reads in the same run.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from ingestion.feeds import FeedSpec

PG_ENCODING = {"gbk": "GBK", "utf-8": "UTF8", "utf-8-sig": "UTF8"}


def text_table(conn: psycopg.Connection, spec: FeedSpec, name: str) -> str:
    columns = ", ".join(f"c{i} text" for i in range(len(spec.columns)))
    conn.execute(f"drop table if exists bench.{name}")
    conn.execute(f"create table bench.{name} ({columns})")
    return f"bench.{name}"


def plain_copy(url: str, files: list[tuple[FeedSpec, Path]]) -> tuple[int, float]:
    """Server COPY of each file's bytes into an all-text table: no typing, no checks (the physical limit)."""
    rows = 0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists bench")
        tables = {spec.feed_id: text_table(conn, spec, f"copy_{spec.feed_id}") for spec, _ in files}
        started = time.perf_counter()
        for spec, path in files:
            statement = (
                f"copy {tables[spec.feed_id]} from stdin with (format csv, header true, "
                f"delimiter '{spec.delimiter}', encoding '{PG_ENCODING[spec.encoding]}')"
            )
            with conn.cursor() as cursor:
                with cursor.copy(statement) as copy, path.open("rb") as handle:
                    while block := handle.read(1 << 20):
                        copy.write(block)
                rows += cursor.rowcount
        seconds = time.perf_counter() - started
        for table in tables.values():
            conn.execute(f"drop table {table}")
    return rows, seconds


def pandas_to_sql(url: str, spec: FeedSpec, path: Path, max_rows: int) -> tuple[int, float]:
    """What many would write: pandas.read_csv, then DataFrame.to_sql through SQLAlchemy (psycopg2)."""
    import pandas as pd
    import sqlalchemy

    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    encoding = "gb18030" if spec.encoding == "gbk" else spec.encoding
    started = time.perf_counter()
    frame = pd.read_csv(path, encoding=encoding, sep=spec.delimiter, nrows=max_rows, dtype=str)
    frame.to_sql(f"pandas_{spec.feed_id}", engine, schema="bench", if_exists="replace", index=False)
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f"drop table bench.pandas_{spec.feed_id}"))
    engine.dispose()
    return len(frame), seconds


def openpyxl_rows(spec: FeedSpec, path: Path) -> tuple[int, float]:
    import openpyxl

    started = time.perf_counter()
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = sum(1 for _ in book[spec.sheet].iter_rows(min_row=spec.header_row + 2, values_only=True))
    book.close()
    return rows, time.perf_counter() - started


def calamine_rows(spec: FeedSpec, path: Path) -> tuple[int, float]:
    import fastexcel

    started = time.perf_counter()
    sheet = fastexcel.read_excel(str(path)).load_sheet_by_name(spec.sheet, header_row=spec.header_row, dtypes="string")
    rows = sheet.to_polars().height
    return rows, time.perf_counter() - started
