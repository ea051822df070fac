"""DAG files only wire tasks: no heavy library is imported when the DAG processor parses them."""

from __future__ import annotations

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
