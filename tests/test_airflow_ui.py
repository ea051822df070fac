"""`make airflow`: Airflow standalone on 127.0.0.1 with the project's DAGs, a generated login, and a clean stop."""

from __future__ import annotations

import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipeline.airflow_ui import processes_in_group, start, wait_for
from pipeline.settings import load_settings
from tests.conftest import free_port

pytestmark = pytest.mark.slow


def test_airflow_ui_runs_with_a_generated_login_and_stops_cleanly(warehouse_url, airflow_ready):
    airflow = start(load_settings(), free_port())
    try:
        airflow.wait_until_up()
        passwords = airflow.home / "simple_auth_manager_passwords.json.generated"
        assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
        with pytest.raises(urllib.error.HTTPError) as wrong:
            airflow.token("not-the-password")
        assert wrong.value.code == 401
        with pytest.raises(urllib.error.HTTPError) as anonymous:
            airflow.api("GET", "/dags")
        assert anonymous.value.code in (401, 403)
        token = airflow.token()

        def project_dags():
            found = {d["dag_id"]: d for d in airflow.api("GET", "/dags", token=token)["dags"]}
            return found if "dealer_dw_daily" in found else None

        dags = wait_for("the project's DAGs", project_dags, 180)
        assert {"dealer_dw_daily", "dealer_dw_weekly_report", "dealer_dw_maintenance"} <= dags.keys()
        assert dags["dealer_dw_daily"]["is_paused"]  # nothing runs until a person unpauses or triggers it
        with urllib.request.urlopen(airflow.url + "/", timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        # the DAG processor runs without pool pre-ping, else a SIGTERM landing in a pre-ping is lost and the stop
        # below hangs about once in six runs under load (see start() in pipeline/airflow_ui.py)
        processor_pid = next(p.split()[0] for p in processes_in_group(airflow.process.pid) if "dag-processor" in p)
        environment = (Path("/proc") / processor_pid / "environ").read_bytes().split(b"\0")
        assert b"AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_PRE_PING=False" in environment
    finally:
        stopped_cleanly = airflow.stop()
    assert stopped_cleanly, f"still running 120 s after SIGINT: {airflow.stragglers}"
