"""DAG files only wire tasks: they parse in seconds with no warehouse, and import nothing heavy when they do."""

from __future__ import annotations

import json
import subprocess
import sys

from pipeline.settings import PROJECT_DIR

HEAVY = (
    "great_expectations",
    "dbt",
    "polars",
    "pandas",
    "pyarrow",
    "psycopg",
    "ingestion",
    "expectations",
    "pipeline.steps",
    "fastexcel",
)


def test_parsing_dag_files_imports_nothing_heavy():
    for dag_file in sorted((PROJECT_DIR / "dags").glob("*.py")):
        # Airflow itself may import a database driver for its metadata database: only what the DAG file adds counts
        probe = (
            "import runpy, sys\n"
            "import airflow.sdk\n"
            "before = set(sys.modules)\n"
            f"runpy.run_path({str(dag_file)!r})\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules and m not in before))\n"
        )
        completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT_DIR)
        assert completed.returncode == 0, completed.stderr[-2000:]
        assert completed.stdout.strip().splitlines()[-1:] in ([], [""]), f"{dag_file.name}: {completed.stdout}"


DAGBAG_PROBE = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={dags!r})
daily = bag.dags["dealer_dw_daily"]
weekly = bag.dags["dealer_dw_weekly_report"]
callbacks = daily.default_args["on_failure_callback"]
callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
print(json.dumps({{
    "import_errors": {{str(k): str(v) for k, v in bag.import_errors.items()}},
    "dag_ids": sorted(bag.dag_ids),
    "daily_tasks": [t.task_id for t in daily.topological_sort()],
    "daily_max_active_runs": daily.max_active_runs,
    "daily_failure_callbacks": [c.__name__ for c in callbacks if callable(c)],
    "weekly_schedule": [weekly.timetable.expression, str(weekly.timetable.timezone)],
    "weekly_tasks": [t.task_id for t in weekly.topological_sort()],
    "weekly_report_upstream": sorted(weekly.get_task("build_weekly_report").upstream_task_ids),
}}))
"""


def test_dagbag_parses_with_the_expected_wiring_in_seconds(tmp_path):
    """The DagBag integrity check without a warehouse or a pipeline run (a private AIRFLOW_HOME, no metadata)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
        "PYTHONPATH": str(PROJECT_DIR),
    }
    probe = DAGBAG_PROBE.format(dags=str(PROJECT_DIR / "dags"))
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    facts = json.loads(completed.stdout.strip().splitlines()[-1])
    assert facts["import_errors"] == {}
    assert {"dealer_dw_daily", "dealer_dw_weekly_report", "dealer_dw_maintenance", "dealer_dw_inbox_watch"} <= set(
        facts["dag_ids"]
    )
    assert facts["daily_tasks"] == [
        "ingest",
        "raw_checks",
        "dbt.staging",
        "dbt.intermediate",
        "dbt.marts",
        "mart_checks",
        "dispute_workbooks",
        "lists",
        "summary",
    ]
    assert facts["daily_max_active_runs"] == 1
    assert "notify_failure" in facts["daily_failure_callbacks"]  # alerts; the run lock is released beside it
    assert facts["weekly_schedule"] == ["0 8 * * 1", "Asia/Shanghai"]
    assert facts["weekly_tasks"] == [
        "whole_table_tests",
        "dispute_workbooks",
        "build_weekly_report",
        "mail_weekly_report",
    ]
    assert facts["weekly_report_upstream"] == ["whole_table_tests"]  # a failing test suite holds the report
