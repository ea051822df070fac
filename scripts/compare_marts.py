"""Behaviour check for refactorings: snapshot every table of schema `marts`, rebuild, compare (EXCEPT ALL both ways).

DW_PG_PORT=... .venv/bin/python scripts/compare_marts.py snapshot   # before: copies marts.* into before_refactor.*
DW_PG_PORT=... .venv/bin/python scripts/compare_marts.py compare    # after: every table equal, rows counted
"""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.database import ensure_database
from pipeline.settings import load_settings

SNAPSHOT = "before_refactor"


def tables(conn: psycopg.Connection, schema: str) -> list[str]:
    rows = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s and table_type = 'BASE TABLE' "
        "order by table_name",
        (schema,),
    ).fetchall()
    return [row[0] for row in rows]


def snapshot(conn: psycopg.Connection) -> None:
    conn.execute(f"drop schema if exists {SNAPSHOT} cascade")
    conn.execute(f"create schema {SNAPSHOT}")
    for name in tables(conn, "marts"):
        conn.execute(f"create table {SNAPSHOT}.{name} as select * from marts.{name}")
        print(f"{name}: {conn.execute(f'select count(*) from {SNAPSHOT}.{name}').fetchone()[0]} rows")


def compare(conn: psycopg.Connection) -> int:
    differing = 0
    for name in tables(conn, SNAPSHOT):
        before = conn.execute(f"select count(*) from {SNAPSHOT}.{name}").fetchone()[0]
        after = conn.execute(f"select count(*) from marts.{name}").fetchone()[0]
        columns = ", ".join(
            f'"{c[0]}"'
            for c in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
                "order by ordinal_position",
                (SNAPSHOT, name),
            ).fetchall()
        )
        only_before = conn.execute(
            f"select count(*) from (select {columns} from {SNAPSHOT}.{name} "
            f"except all select {columns} from marts.{name}) d"
        ).fetchone()[0]
        only_after = conn.execute(
            f"select count(*) from (select {columns} from marts.{name} "
            f"except all select {columns} from {SNAPSHOT}.{name}) d"
        ).fetchone()[0]
        same = only_before == only_after == 0 and before == after
        differing += not same
        print(
            f"{'equal' if same else 'DIFFERS'}  {name}: {before} rows before, {after} after, "
            f"{only_before} only before, {only_after} only after"
        )
    return differing


def main() -> int:
    with psycopg.connect(ensure_database(load_settings()), autocommit=True) as conn:
        if sys.argv[1:] == ["snapshot"]:
            snapshot(conn)
            return 0
        return 1 if compare(conn) else 0


if __name__ == "__main__":
    sys.exit(main())
