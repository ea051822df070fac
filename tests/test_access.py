"""Least privilege per step and access as designed (issue 20, points 1 and 8), read from the real catalog.

Each step's login (pipeline/roles.py) may do its own job only: the loader reads no mart, the transformer cannot
change the ledger, the reading role writes nothing. bi_reader can `select *` from every relation it is granted and
none of them carries a commission figure or a phone number.
"""

from __future__ import annotations

import psycopg
import pytest

from pipeline.roles import CHECKER, LOADER, READER, TRANSFORMER, step_url
from tests.conftest import query

DENIED = psycopg.errors.InsufficientPrivilege


def run_as(url: str, role: str, statement: str) -> list[tuple]:
    with psycopg.connect(step_url(url, role), autocommit=True) as conn:
        assert conn.execute("select current_user").fetchone()[0] == role
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


def test_each_step_login_may_do_its_job_only(fresh_db):
    # the transformer builds in marts (as dbt does) and reads raw; the loader writes raw and the ledger
    run_as(fresh_db, TRANSFORMER, "create table marts.probe_mart as select 1 as id")
    run_as(fresh_db, LOADER, "create table raw.probe_feed (id int)")
    run_as(fresh_db, LOADER, "insert into raw.probe_feed values (7)")
    batch = run_as(
        fresh_db,
        LOADER,
        "insert into raw._batches (feed, source_file, checksum, size_bytes, status) "
        "values ('probe', 'f.csv', 'x', 1, 'loaded') returning batch_id",
    )[0][0]
    assert run_as(fresh_db, TRANSFORMER, "select id from raw.probe_feed") == [(7,)]
    assert run_as(fresh_db, TRANSFORMER, "select status from raw._batches") == [("loaded",)]

    # the loader reads and writes no mart
    with pytest.raises(DENIED, match="permission denied for schema marts"):
        run_as(fresh_db, LOADER, "select * from marts.probe_mart")
    with pytest.raises(DENIED, match="permission denied for schema marts"):
        run_as(fresh_db, LOADER, "insert into marts.probe_mart values (2)")
    with pytest.raises(DENIED, match="permission denied for schema marts"):
        run_as(fresh_db, LOADER, "create table marts.loader_table (id int)")

    # the transformer cannot change the ledger (the gate's marks are the loader's) nor write raw
    for statement in (
        f"update raw._batches set status = 'held' where batch_id = {batch}",
        f"update raw._batches set validated_at = now() where batch_id = {batch}",
        f"delete from raw._batches where batch_id = {batch}",
        "insert into raw.probe_feed values (8)",
    ):
        with pytest.raises(DENIED, match=r"permission denied for table (_batches|probe_feed)"):
            run_as(fresh_db, TRANSFORMER, statement)
    run_as(fresh_db, LOADER, f"update raw._batches set validated_at = now() where batch_id = {batch}")

    # the reading roles read every layer, finance's and insurance staff's marts included
    assert run_as(fresh_db, READER, "select id from marts.probe_mart") == [(1,)]
    assert run_as(fresh_db, CHECKER, "select count(*) from raw._batches") == [(1,)]
    with pytest.raises(DENIED):
        run_as(fresh_db, READER, "insert into marts.probe_mart values (3)")
    with pytest.raises(DENIED):
        run_as(
            fresh_db,
            READER,
            "insert into dq.validation_results (run_id, as_of, checkpoint, suite, expectation, "
            "severity, success) values ('r', '2026-01-01', 'c', 's', 'e', 'critical', true)",
        )
    # GX's login writes its results in dq, and nothing else
    run_as(
        fresh_db,
        CHECKER,
        "insert into dq.validation_results (run_id, as_of, checkpoint, suite, expectation, "
        "severity, success) values ('r', '2026-01-01', 'c', 's', 'e', 'critical', true)",
    )
    with pytest.raises(DENIED):
        run_as(fresh_db, CHECKER, "update raw._batches set status = 'held'")


def test_the_reading_role_can_write_nowhere(fresh_db):
    """From the catalog: no table, sequence, schema or database dw_reader may change (after the bootstrap)."""
    run_as(fresh_db, TRANSFORMER, "create table marts.probe_mart as select 1 as id")
    run_as(fresh_db, LOADER, "create table raw.probe_feed (id int)")
    writable = query(
        fresh_db,
        "select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where c.relkind in ('r', 'p', 'v', 'm') and n.nspname not in ('pg_catalog', 'information_schema') "
        "and has_table_privilege('dw_reader', c.oid, 'insert, update, delete, truncate')",
    )
    assert writable == []
    creatable = query(
        fresh_db,
        "select nspname from pg_namespace where has_schema_privilege('dw_reader', oid, 'create') order by 1",
    )
    assert creatable == []
    assert query(fresh_db, "select has_database_privilege('dw_reader', current_database(), 'create')") == [(False,)]
    # and the tables it reads include the ones made after the bootstrap by the loader and the transformer
    assert query(
        fresh_db,
        "select has_table_privilege('dw_reader', 'marts.probe_mart', 'select'), "
        "has_table_privilege('dw_reader', 'raw.probe_feed', 'select')",
    ) == [(True, True)]


def test_a_server_without_step_logins_runs_every_step_as_the_given_role_with_one_warning(capsys):
    """DW_DATABASE_URL on a server of the user's own: no password is known for the step logins there."""
    url = "postgresql://analyst@db.example.invalid:6543/dealer_dw"
    assert [step_url(url, role) for role in (LOADER, TRANSFORMER, CHECKER, READER)] == [url] * 4
    assert capsys.readouterr().err.splitlines() == [
        "warning: no per-step logins (dw_loader, dw_transformer, dw_checker, dw_reader) on db.example.invalid:6543: "
        "every step connects as analyst (they are made on the embedded server only)"
    ]
