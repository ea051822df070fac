"""Least privilege per step: each step of a run connects as its own login, the superuser only bootstraps.

| step | login | may |
|---|---|---|
| ingestion, the ledger's gate marks, run lock and run records | `dw_loader` | write `raw.*` and the ledger; no mart |
| dbt | `dw_transformer` | read `raw`; own and write staging, intermediate, marts, snapshots; ledger read-only |
| Great Expectations | `dw_checker` | read everything `dw_reader` reads; write its results in `dq` only |
| reports, due lists, dispute workbooks, the run's closing counts | `dw_reader` | read; write nothing |

The logins' passwords are generated once and kept in DW_HOME/secrets (0600), like the superuser's, and reach
libpq through PGPASSFILE (pipeline/database.py). A step uses its login when the passfile libpq reads holds a
password for it on the warehouse's host and port: always on the embedded server. On a server of the user's own
(DW_DATABASE_URL) no password is known for them, so every step connects as the given role, and one warning line
says so.
"""

from __future__ import annotations

import sys
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

LOADER = "dw_loader"
TRANSFORMER = "dw_transformer"
CHECKER = "dw_checker"
READER = "dw_reader"
STEP_ROLES = (LOADER, TRANSFORMER, CHECKER, READER)

_warned: set[str] = set()


def _password(url: str, role: str) -> str:
    from pipeline.database import passfile_password

    parts = urlsplit(url)
    return passfile_password(parts.hostname or "127.0.0.1", parts.port or 5432, role)


def step_url(url: str, role: str) -> str:
    """`url` with `role` as its user when that login is set up here; else `url` itself (one warning per server)."""
    parts = urlsplit(url)
    if parts.password is None and _password(url, role):
        host = parts.netloc.split("@", 1)[-1]
        return parts._replace(netloc=f"{role}@{host}").geturl()
    server = parts.netloc.split("@", 1)[-1]
    if server not in _warned:
        _warned.add(server)
        print(
            f"warning: no per-step logins ({', '.join(STEP_ROLES)}) on {server}: every step connects as "
            f"{parts.username or 'the given role'} (they are made on the embedded server only)",
            file=sys.stderr,
            flush=True,
        )
    return url


def setup_step_roles(conn: psycopg.Connection, url: str) -> bool:
    """As a superuser: the step logins (passwords from the passfile) and their grants in this database.

    Returns False, changing nothing, when the connection is not a superuser's (a server of the user's own)."""
    if not conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0]:
        return False
    from expectations.runner import RESULTS_DDL

    for role in STEP_ROLES:
        row = conn.execute("select rolcanlogin from pg_roles where rolname = %s", (role,)).fetchone()
        password = _password(url, role)
        if row is None:
            with suppress(psycopg.errors.DuplicateObject):  # created by a bootstrap of another database
                conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
        if password and not (row and row[0]):
            conn.execute(sql.SQL("alter role {} login password {}").format(sql.Identifier(role), sql.Literal(password)))
    conn.execute(RESULTS_DDL)
    conn.execute((Path(__file__).parent / "roles.sql").read_text())
    return True
