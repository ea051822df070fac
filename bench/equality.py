"""Whether an incremental build ends where a full rebuild ends: snapshot every table of the given schemas, rebuild,
compare each table EXCEPT ALL both ways. `ledger_seq` (the ledger's number when a row was last written) is left out:
it records when a row was written, which differs by design between the two builds."""

from __future__ import annotations

import psycopg

SNAPSHOT_PREFIX = "before_rebuild_"
SKIPPED_COLUMNS = ("ledger_seq",)


def tables(conn: psycopg.Connection, schema: str) -> list[str]:
    rows = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s and table_type = 'BASE TABLE' "
        "order by table_name",
        (schema,),
    ).fetchall()
    return [row[0] for row in rows]


def snapshot(conn: psycopg.Connection, schemas: tuple[str, ...]) -> int:
    """Copy every table of each schema into `before_rebuild_<schema>`; the number of tables copied."""
    copied = 0
    for schema in schemas:
        conn.execute(f"drop schema if exists {SNAPSHOT_PREFIX}{schema} cascade")
        conn.execute(f"create schema {SNAPSHOT_PREFIX}{schema}")
        for name in tables(conn, schema):
            conn.execute(f'create table {SNAPSHOT_PREFIX}{schema}."{name}" as select * from {schema}."{name}"')
            copied += 1
    return copied


def compare(conn: psycopg.Connection, schemas: tuple[str, ...]) -> dict[str, str]:
    """Each snapshotted table that differs from the table now (rows only before / only after), by name."""
    differing = {}
    for schema in schemas:
        before_schema = f"{SNAPSHOT_PREFIX}{schema}"
        for name in tables(conn, before_schema):
            columns = ", ".join(
                f'"{row[0]}"'
                for row in conn.execute(
                    "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
                    "and column_name <> all(%s) order by ordinal_position",
                    (before_schema, name, list(SKIPPED_COLUMNS)),
                ).fetchall()
            )
            before, after = f'{before_schema}."{name}"', f'{schema}."{name}"'
            only_before = conn.execute(
                f"select count(*) from (select {columns} from {before} except all select {columns} from {after}) d"
            ).fetchone()[0]
            only_after = conn.execute(
                f"select count(*) from (select {columns} from {after} except all select {columns} from {before}) d"
            ).fetchone()[0]
            if only_before or only_after:
                differing[f"{schema}.{name}"] = f"{only_before} rows only before, {only_after} only after"
        conn.execute(f"drop schema {before_schema} cascade")
    return differing
