"""Start `airflow standalone` against the embedded PostgreSQL, trigger the daily DAG over the REST API, wait for it,
and shut everything down cleanly.

    .venv/bin/python scripts/airflow_standalone_demo.py            # samples as of today, port 8080
    DW_AS_OF=2026-11-20 DW_AIRFLOW_PORT=8090 .venv/bin/python scripts/airflow_standalone_demo.py

Airflow's UI stays reachable at http://127.0.0.1:<port> while the run is going (`make airflow` keeps it up without
a run). Exit code 0 when the run succeeded.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.airflow_runner import DAG_ID
from pipeline.airflow_ui import start, wait_for
from pipeline.settings import load_settings
from pipeline.steps import inbox_path


def main() -> int:
    settings = load_settings()
    as_of = settings.as_of or date.today()
    if settings.inbox is None:
        from samples import generate_inbox

        generate_inbox(inbox_path(settings), as_of)
    airflow = start(settings, int(os.environ.get("DW_AIRFLOW_PORT", "8080")))
    state = "unknown"
    try:
        started = time.monotonic()
        airflow.wait_until_up()
        print(f"Airflow API healthy after {time.monotonic() - started:.0f} s on {airflow.url}")
        token = airflow.token()
        wait_for(f"DAG {DAG_ID} to be parsed", lambda: airflow.api("GET", f"/dags/{DAG_ID}", token=token), 180)
        airflow.api("PATCH", f"/dags/{DAG_ID}", {"is_paused": False}, token)
        # a logical date is unique per DAG: the current minute and second keep re-runs of one date apart
        logical_date = f"{as_of.isoformat()}T06:{time.strftime('%M:%S')}+08:00"
        run = airflow.api("POST", f"/dags/{DAG_ID}/dagRuns", {"logical_date": logical_date, "conf": {}}, token)
        run_id = run["dag_run_id"]
        print(f"triggered {DAG_ID} run {run_id} for logical date {as_of}")

        def finished():
            current = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}", token=token)["state"]
            return current if current in ("success", "failed") else None

        state = wait_for("the DAG run", finished, 1800, every=5)
        print(f"run {run_id} ended: {state} ({time.monotonic() - started:.0f} s since start)")
    finally:
        if airflow.stop():
            print("airflow standalone stopped cleanly")
        else:
            print("airflow standalone did not stop within 120 s and was killed", file=sys.stderr)
    return 0 if state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
