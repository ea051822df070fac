"""`make airflow`: Airflow's own UI for the local warehouse, until Ctrl-C.

`airflow standalone` (API server with the UI, scheduler, DAG processor, triggerer) on 127.0.0.1, with the project's
DAGs and its metadata in the warehouse server, as `make run` configures Airflow. Login: user `admin` with a password
Airflow generates once and keeps in `$DW_HOME/airflow/simple_auth_manager_passwords.json.generated` (mode 0600);
it is printed when the UI is up. A data engineer watches runs, reads task logs and triggers or backfills as in
production. DAGs start paused, so nothing runs until someone unpauses or triggers one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.settings import Settings, load_settings

USER = "admin"


def call(base: str, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", method=method, headers=headers, data=data)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def wait_for(what: str, check, timeout: float, every: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (urllib.error.URLError, ConnectionError, TimeoutError, FileNotFoundError, ValueError):
            pass
        time.sleep(every)
    raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")


@dataclass
class LocalAirflow:
    process: subprocess.Popen
    home: Path
    port: int
    stragglers: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def password(self) -> str:
        return json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())[USER]

    def token(self, password: str | None = None) -> str:
        body = {"username": USER, "password": password or self.password()}
        return call(self.url, "POST", "/auth/token", body)["access_token"]

    def api(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        return call(f"{self.url}/api/v2", method, path, body, token)

    def components_healthy(self) -> bool:
        health = self.api("GET", "/monitor/health")
        parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        return (
            all((health.get(part) or {}).get("status") in ("healthy", None) for part in parts)
            and (health.get("scheduler") or {}).get("status") == "healthy"
        )

    def wait_until_up(self, timeout: float = 240) -> None:
        """Until the API answers and every component has a heartbeat (a component still starting may not stop on
        SIGINT in time)."""
        wait_for("Airflow's API server and its components", self.components_healthy, timeout)
        wait_for("the generated login", self.password, 60, every=1)
        os.chmod(self.home / "simple_auth_manager_passwords.json.generated", 0o600)

    def stop(self) -> bool:
        """Stop every component; True when they all stopped in time. Otherwise the processes still running are kept in
        `stragglers`, asked to stop (SIGTERM) and killed if they do not.

        SIGINT goes to standalone alone, which asks each component to stop (SIGTERM) and waits for it. Sending it to
        the whole group instead also interrupts the scheduler's LocalExecutor workers in their queue reads, and the
        scheduler then sometimes waits for them for ever (seen in one of three runs)."""
        if self.process.poll() is not None:
            return True
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=120)
            return True
        except subprocess.TimeoutExpired:
            self.stragglers = processes_in_group(self.process.pid)
            for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, None)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, sig)
                try:
                    self.process.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
            return False


def processes_in_group(pgid: int) -> list[str]:
    """`pid state wait-channel command line` of every process in a process group (from /proc, as `ps -o
    pid,stat,wchan,args` would show them): a straggler sleeping in `do_epoll_wait` is still running its loop, one in
    `futex_do_wait` is blocked on a lock or a thread."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                cmdline = (stat_file.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                wchan = (stat_file.parent / "wchan").read_text() or "-"
                found.append(f"{stat_file.parent.name} {fields[0]} {wchan} {cmdline.strip()}")
        except (OSError, IndexError, ValueError):
            continue
    return found


def start(settings: Settings, port: int) -> LocalAirflow:
    from pipeline.airflow_runner import airflow_environment, migrate_airflow
    from pipeline.steps import prepare_database

    prepare_database(settings)
    env = {
        **os.environ,
        **airflow_environment(settings),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        # LocalExecutor starts one worker process per slot: four suit a laptop or this 2-core machine, not 32
        "AIRFLOW__CORE__PARALLELISM": "4",
        # No "SELECT 1" before each pooled connection is used, so that every component stops on the stop request.
        # Standalone stops a component with one SIGTERM; the DAG processor's handler (DagFileProcessorManager.
        # _exit_gracefully) raises SystemExit wherever the main thread is, and its loop queries the database every
        # second (claim_priority_files, fetch_callbacks, purge_inactive_dag_warnings), so under load the signal
        # often lands in psycopg's wait. Inside SQLAlchemy's pre-ping (_PGDialect_common_psycopg.do_ping) the
        # `finally` that restores autocommit then raises ProgrammingError("can't change 'autocommit' now: ...
        # ACTIVE") over the SystemExit, Airflow's retry_db_transaction retries that DBAPIError, and the processor
        # runs on: standalone waits for it for ever. Without pre-ping the SystemExit propagates and the process
        # exits. Nothing is lost here: the warehouse server is local, a connection dropped by a server restart is
        # still detected when it fails (SQLAlchemy then invalidates the pool), and pool_recycle (30 min) applies.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_PRE_PING": "False",
        # standalone starts its components as `airflow ...` processes: the venv must be on PATH
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    migrate_airflow(env)
    log = settings.home / "logs" / "airflow_standalone.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        # a background child ignores SIGINT unless it is reset, and standalone only stops cleanly on SIGINT
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "standalone"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    return LocalAirflow(process, Path(env["AIRFLOW_HOME"]), port)


def main() -> int:
    from pipeline.serving import serve_until_interrupted

    settings = load_settings()
    port = int(os.environ.get("DW_AIRFLOW_PORT", "8080"))
    passwords = settings.home / "airflow" / "simple_auth_manager_passwords.json.generated"
    first_start = not passwords.exists()
    airflow = start(settings, port)

    def announce() -> None:
        login = f"password {airflow.password()}" if first_start else f"password in {passwords}"
        print(f"Airflow is up on {airflow.url}  (user {USER}, {login})")
        print(f"Logs: {settings.home / 'logs' / 'airflow_standalone.log'}. Ctrl-C stops it.")

    return serve_until_interrupted(airflow, "Airflow", announce, "120 s")


if __name__ == "__main__":
    sys.exit(main())
