"""What the loader is compared with: plain COPY, dlt, pandas `to_sql`, openpyxl and bare calamine.

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


def arrow_text_table(spec: FeedSpec, path: Path):
    """A CSV file read by pyarrow as our loader reads it: every column text, header skipped, broken rows skipped."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(len(spec.columns))]
    encoding = "gb18030" if spec.encoding == "gbk" else "utf8"
    return pacsv.read_csv(
        str(path),
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 23, encoding=encoding),
        parse_options=pacsv.ParseOptions(delimiter=spec.delimiter, invalid_row_handler=lambda _: "skip"),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}),
    )


def dlt_load(url: str, files: list[tuple[FeedSpec, Path]], pipelines_dir: Path) -> tuple[int, float]:
    """The peer a data team would pick: dlt (postgres destination) loading pyarrow tables of the same files.

    One resource per feed yields each file's arrow table (text columns, as our loader reads them), all in one
    `pipeline.run` with the `csv` loader file format, the postgres destination's fastest without an ADBC driver
    (dlt writes the arrow tables with pyarrow's CSV writer and loads each file with `COPY ... FORMAT CSV`; its
    default, `insert_values`, makes INSERT statements; `parquet` needs the ADBC driver, not installed). dlt's
    state and pipelines folder stay in `pipelines_dir`; the timed run includes extract, normalize and load.
    """
    import os
    import shutil

    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # no network calls from the bench
    import dlt

    shutil.rmtree(pipelines_dir, ignore_errors=True)  # every run starts with no state: a first load
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop schema if exists dlt_bench cascade")
    by_feed: dict[str, list[tuple[FeedSpec, Path]]] = {}
    for spec, path in files:
        by_feed.setdefault(spec.feed_id, []).append((spec, path))
    rows = 0

    def tables(feed_files: list[tuple[FeedSpec, Path]]):
        nonlocal rows
        for spec, path in feed_files:
            table = arrow_text_table(spec, path)
            rows += table.num_rows
            yield table

    from pipeline.database import connection_parts

    parts = connection_parts(url)  # the password may live in PGPASSFILE, which dlt does not read
    credentials = {
        "host": parts["host"],
        "port": parts["port"],
        "username": parts["user"],
        "password": parts["password"],
        "database": parts["dbname"],
    }
    pipeline = dlt.pipeline(
        pipeline_name="bench_dlt",
        destination=dlt.destinations.postgres(credentials=credentials),
        dataset_name="dlt_bench",
        pipelines_dir=str(pipelines_dir),
    )
    resources = [dlt.resource(tables(feed_files), name=feed) for feed, feed_files in by_feed.items()]
    started = time.perf_counter()
    pipeline.run(resources, loader_file_format="csv")
    seconds = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        loaded = sum(conn.execute(f"select count(*) from dlt_bench.{feed}").fetchone()[0] for feed in by_feed)
        conn.execute("drop schema dlt_bench cascade")
    if loaded != rows:
        raise RuntimeError(f"dlt loaded {loaded:,} rows of the {rows:,} pyarrow read")
    return rows, seconds
