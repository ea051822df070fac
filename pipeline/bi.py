"""`make bi`: Apache Superset on the marts, with the dashboards kept as code, until Ctrl-C.

Superset lives in its own virtualenv (.venv-bi, pinned by bi/requirements.lock: its pins clash with Airflow's), its
metadata in SQLite under $DW_HOME/superset/. On every start this module
1. lets the warehouse role bi_reader sign in, with a password generated once into $DW_HOME/secrets/bi_reader.password
   (so every BI tool, Superset included, reads through bi_reader's grants, masking and row-level security);
2. gives each store manager of ops.store_managers a Superset login of the same name that reads the warehouse as the
   manager's own login (bi/superset_config.py), so PostgreSQL's row-level security stays the one enforcer;
3. builds Superset's import bundle from bi/dashboards/*.yml with metrics generated from the semantic layer
   (pipeline/bi_bundle.py) and imports it (bi/superset_setup.py);
4. serves Superset on 127.0.0.1:$DW_BI_PORT (default 8188) with gunicorn, and stops it cleanly on Ctrl-C.
Superset passwords are generated once into $DW_HOME/secrets/superset_<user>.password and printed when made.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.settings import PROJECT_DIR, Settings, load_settings

BI_VENV = PROJECT_DIR / ".venv-bi"
CONFIG = PROJECT_DIR / "bi" / "superset_config.py"
SETUP_SCRIPT = PROJECT_DIR / "bi" / "superset_setup.py"
ADMIN = "admin"
BI_LOGIN = "bi_reader"
DEFAULT_PORT = 8188


class BIError(RuntimeError):
    """Superset cannot start: the message says why and what to do."""


def bi_schema() -> str:
    """The schema the dashboards' datasets read (the marts, or a schema of BI views in front of them)."""
    return os.environ.get("DW_BI_SCHEMA") or "bi"


def superset_home(settings: Settings) -> Path:
    home = settings.home / "superset"
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    return home


def superset_password(settings: Settings, username: str) -> tuple[str, bool]:
    """The generated Superset password of `username` and whether it was made just now."""
    from pipeline.database import role_password, secrets_folder

    made = not (secrets_folder(settings) / f"superset_{username}.password").exists()
    return role_password(settings, f"superset_{username}"), made


def environment(settings: Settings) -> dict[str, str]:
    from pipeline.database import role_password, secrets_folder

    role_password(settings, "superset_secret_key")  # made once: Superset encrypts the stored passwords with it
    home = superset_home(settings)
    return {
        **os.environ,
        "SUPERSET_CONFIG_PATH": str(CONFIG),
        "DW_BI_HOME": str(home),
        "DW_BI_SECRET_KEY_FILE": str(secrets_folder(settings) / "superset_secret_key.password"),
        "DW_BI_LOGINS_FILE": str(home / "logins.json"),
        "FLASK_APP": "superset.app:create_app()",
        "PYTHONPATH": "",
        "PATH": os.pathsep.join([str(BI_VENV / "bin"), os.environ.get("PATH", "")]),
    }


def warehouse_address(url: str) -> tuple[str, int, str]:
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(url)
    return str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432), str(info.get("dbname"))


def enable_bi_login(settings: Settings, url: str) -> str:
    """Let bi_reader sign in. Its password: DW_BI_READER_PASSWORD when the warehouse's administrator manages it,
    else generated once into $DW_HOME/secrets/bi_reader.password and set on the role."""
    import psycopg
    from psycopg import sql

    from pipeline.database import role_password

    if password := os.environ.get("DW_BI_READER_PASSWORD"):
        return password
    password = role_password(settings, BI_LOGIN)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            statement = sql.SQL("alter role {} login password {}")
            conn.execute(statement.format(sql.Identifier(BI_LOGIN), sql.Literal(password)))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise BIError("cannot set bi_reader's password: give it in DW_BI_READER_PASSWORD") from exc
    return password


def store_manager_logins(settings: Settings, url: str) -> tuple[dict[str, Path], list[str]]:
    """Warehouse logins of ops.store_managers with the file of their password, and the ones left out (why).

    A manager's login made without a password gets one generated into $DW_HOME/secrets/<login>.password; a login
    whose password someone set by hand is left out (its password is theirs, not ours)."""
    import psycopg
    from psycopg import sql

    from pipeline.database import role_password, secrets_folder

    logins: dict[str, Path] = {}
    skipped: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select distinct m.role_name, a.rolcanlogin, a.rolpassword is not null from ops.store_managers as m"
            " left join pg_authid as a on a.rolname = m.role_name order by 1"
        ).fetchall()
        for login, can_login, has_password in rows:
            path = secrets_folder(settings) / f"{login}.password"
            if not can_login:
                skipped.append(f"{login} (no such login role)")
            elif path.exists() or not has_password:
                if not path.exists():
                    password = role_password(settings, login)
                    conn.execute(
                        sql.SQL("alter role {} password {}").format(sql.Identifier(login), sql.Literal(password))
                    )
                logins[login] = path
            else:
                skipped.append(f"{login} (its password was set by hand; remove it to let `make bi` generate one)")
    return logins, skipped


def run_superset(env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 600) -> str:
    result = subprocess.run(
        [str(BI_VENV / "bin" / args[0]), *args[1:]],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT_DIR,
    )
    if result.returncode != 0:
        raise BIError(f"`{' '.join(args)}` failed ({result.returncode}): {result.stderr.strip()[-3000:]}")
    return result.stdout


def initialise_metadata(settings: Settings, env: dict[str, str]) -> None:
    """Superset's metadata schema and its default roles: once per Superset version (a stamp in $DW_HOME/superset)."""
    version = run_superset(env, "python", "-c", "import importlib.metadata as m; print(m.version('apache-superset'))")
    stamp = superset_home(settings) / f".initialised-{version.strip()}"
    if stamp.exists():
        return
    # a metadata database fresh from `db upgrade` and `init` holds no secret and no data: kept beside the venv, it
    # spares every new $DW_HOME (a test's, a clone's) the 70 s these take
    template = BI_VENV / f"superset-metadata-{version.strip()}.db"
    metadata = superset_home(settings) / "superset.db"
    if template.exists() and not metadata.exists():
        shutil.copyfile(template, metadata)
    else:
        run_superset(env, "superset", "db", "upgrade")
        run_superset(env, "superset", "init")
        if not template.exists():
            shutil.copyfile(metadata, template)
    stamp.touch()


@dataclass
class Setup:
    dashboards: dict[str, int]
    charts: dict[str, int]
    passwords_made: dict[str, str] = field(default_factory=dict)
    skipped_managers: list[str] = field(default_factory=list)


def setup(settings: Settings, url: str, env: dict[str, str]) -> Setup:
    """Users (admin, store managers) and the import of every dashboard of bi/dashboards."""
    from pipeline.bi_bundle import DATABASE_FILE, bundle, database_config
    from pipeline.metrics import manifest_is_current, semantic_manifest_path
    from pipeline.steps import dbt_env, run_dbt

    password = enable_bi_login(settings, url)
    host, port, database = warehouse_address(url)
    manifest_path = semantic_manifest_path(settings)
    if not manifest_is_current(manifest_path, database):
        os.environ.update(dbt_env(url))
        run_dbt(["parse"], settings.as_of or __import__("datetime").date.today(), settings)
    manifest = json.loads(manifest_path.read_text())
    files = bundle(manifest, bi_schema(), database_config(host, port, database, BI_LOGIN))

    logins, skipped = store_manager_logins(settings, url)
    logins_file = Path(env["DW_BI_LOGINS_FILE"])
    logins_file.write_text(json.dumps({name: {"login": name, "password_file": str(p)} for name, p in logins.items()}))
    logins_file.chmod(0o600)
    made: dict[str, str] = {}
    users = {}
    for username in (ADMIN, *logins):
        users[username], fresh = superset_password(settings, username)
        if fresh:
            made[username] = users[username]
    request = {
        "files": files,
        "database_file": DATABASE_FILE,
        "database_password": password,
        "admin": {"username": ADMIN, "password": users[ADMIN]},
        "store_managers": [{"username": name, "password": users[name]} for name in logins],
    }
    output = run_superset(env, "python", str(SETUP_SCRIPT), stdin=json.dumps(request))
    result = json.loads(output.strip().splitlines()[-1])
    return Setup(result["dashboards"], result["charts"], made, skipped)


def get(url: str, timeout: float = 10) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


@dataclass
class LocalSuperset:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_up(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BIError(f"Superset stopped while starting (exit {self.process.returncode}); see {self.log}")
            try:
                if get(f"{self.url}/health").strip() == b"OK":
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(1)
        raise BIError(f"Superset did not answer on {self.url}/health within {timeout:.0f} s; see {self.log}")

    def stop(self, timeout: float = 60) -> bool:
        """SIGTERM to gunicorn (graceful: workers finish their requests); True when it stopped in time."""
        if self.process.poll() is not None:
            return True
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            return False


def serve(settings: Settings, env: dict[str, str], port: int) -> LocalSuperset:
    log = settings.home / "logs" / "superset.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(BI_VENV / "bin" / "gunicorn"),
        f"--bind=127.0.0.1:{port}",
        "--workers=1",
        "--worker-class=gthread",
        "--threads=8",
        "--timeout=120",
        "--graceful-timeout=30",
        "superset.app:create_app()",
    ]
    with log.open("w") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, cwd=PROJECT_DIR
        )
    return LocalSuperset(process, port, log)


def start(settings: Settings, port: int) -> tuple[LocalSuperset, Setup]:
    """Prepare the warehouse logins and Superset's metadata, import the dashboards, serve; until stop()."""
    from pipeline.steps import prepare_database

    if not (BI_VENV / "bin" / "gunicorn").exists():
        raise BIError(f"{BI_VENV} is not installed: run `make bi` (it installs bi/requirements.lock)")
    url = prepare_database(settings)
    env = environment(settings)
    initialise_metadata(settings, env)
    done = setup(settings, url, env)
    superset = serve(settings, env, port)
    try:
        superset.wait_until_up()
    except BaseException:
        superset.stop()
        raise
    return superset, done


def main() -> int:
    from pipeline.serving import serve_until_interrupted, stop_on_signals

    stop_on_signals()  # also while Superset starts: start() stops it on the way out
    settings = load_settings()
    port = int(os.environ.get("DW_BI_PORT") or DEFAULT_PORT)
    try:
        superset, done = start(settings, port)
    except BIError as exc:
        print(f"make bi: {exc}", file=sys.stderr)
        return 1

    def announce() -> None:
        secrets = settings.home / "secrets"
        for slug, dashboard_id in done.dashboards.items():
            print(f"Superset is up: {superset.url}/superset/dashboard/{slug}/  (dashboard {dashboard_id})")
        for username in (ADMIN, *[n for n in json.loads(Path(superset_home(settings) / "logins.json").read_text())]):
            shown = done.passwords_made.get(username)
            login = f"password {shown}" if shown else f"password in {secrets / f'superset_{username}.password'}"
            print(f"  login {username}: {login}" + ("" if username == ADMIN else "  (store manager: its stores only)"))
        for line in done.skipped_managers:
            print(f"  no Superset login for store manager {line}")
        print(f"Logs: {superset.log}. Ctrl-C stops it.")

    return serve_until_interrupted(superset, "Superset", announce, "60 s")


if __name__ == "__main__":
    sys.exit(main())
