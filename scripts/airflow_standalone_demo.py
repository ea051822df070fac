"""Start `airflow standalone` against the embedded PostgreSQL, trigger the daily DAG over the REST API, wait for it,
and shut everything down cleanly.

    .venv/bin/python scripts/airflow_standalone_demo.py            # samples as of today, port 8080
    DW_AS_OF=2026-11-20 DW_AIRFLOW_PORT=8090 .venv/bin/python scripts/airflow_standalone_demo.py

Airflow's UI stays reachable at http://127.0.0.1:<port> while the run is going (every user is admin: this is
a local demonstration, never a deployment). Exit code 0 when the run succeeded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.cli import DAG_ID, airflow_environment, migrate_airflow
from pipeline.settings import load_settings
from pipeline.steps import inbox_path, prepare_database


def call(base: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}{path}",
        method=method,
        headers={"Content-Type": "application/json"},
        data=json.dumps(body).encode() if body is not None else None,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def wait_for(what: str, check, timeout: float, every: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(every)
    raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")


def main() -> int:
    settings = load_settings()
    as_of = settings.as_of or date.today()
    port = int(os.environ.get("DW_AIRFLOW_PORT", "8080"))
    prepare_database(settings)
    if settings.inbox is None:
        from ingestion.samples import generate_inbox

        generate_inbox(inbox_path(settings), as_of)
    env = {
        **os.environ,
        **airflow_environment(settings),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        # standalone starts its components as `airflow ...` processes: the venv must be on PATH
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    migrate_airflow(env)
    log = settings.home / "logs" / "airflow_standalone.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    airflow = Path(sys.executable).with_name("airflow")
    with log.open("w") as output:
        # standalone only shuts down cleanly on SIGINT, and a background child ignores SIGINT unless reset
        process = subprocess.Popen(
            [str(airflow), "standalone"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    base = f"http://127.0.0.1:{port}/api/v2"
    state = "unknown"
    try:
        started = time.monotonic()
        wait_for("the API server", lambda: call(base, "GET", "/monitor/health"), 180)
        print(f"Airflow API healthy after {time.monotonic() - started:.0f} s on http://127.0.0.1:{port}")
        wait_for(f"DAG {DAG_ID} to be parsed", lambda: call(base, "GET", f"/dags/{DAG_ID}"), 180)
        call(base, "PATCH", f"/dags/{DAG_ID}", {"is_paused": False})
        # a logical date is unique per DAG: the current minute and second keep re-runs of one date apart
        run = call(
            base,
            "POST",
            f"/dags/{DAG_ID}/dagRuns",
            {"logical_date": f"{as_of.isoformat()}T06:{time.strftime('%M:%S')}+08:00", "conf": {}},
        )
        run_id = run["dag_run_id"]
        print(f"triggered {DAG_ID} run {run_id} for logical date {as_of}")

        def finished():
            current = call(base, "GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")["state"]
            return current if current in ("success", "failed") else None

        state = wait_for("the DAG run", finished, 1800, every=5)
        print(f"run {run_id} ended: {state} ({time.monotonic() - started:.0f} s since start)")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
            print("airflow standalone stopped cleanly")
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            print("airflow standalone did not stop within 60 s and was killed", file=sys.stderr)
    return 0 if state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
