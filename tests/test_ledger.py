"""The ledger module owns every write to `raw._batches`; its statuses are the table's check constraint."""

from __future__ import annotations

import re
import subprocess

from ingestion.ledger import BatchStatus
from pipeline.settings import PROJECT_DIR


def test_the_status_enum_is_the_check_constraint():
    ddl = (PROJECT_DIR / "pipeline" / "bootstrap.sql").read_text()
    check = re.search(r"_batches_status_check\s+check \(status in \(([^)]*)\)\)", ddl)
    assert check, "no status check on raw._batches in bootstrap.sql"
    assert {s.strip(" '\n") for s in check.group(1).split(",")} == {s.value for s in BatchStatus}


def test_only_the_ledger_module_writes_the_ledger():
    # every insert or update of raw._batches in the Python code is in ingestion/ledger.py
    found = subprocess.run(
        ["grep", "-rlE", r"(insert into|update) raw\._batches", "ingestion", "pipeline", "expectations", "dags",
         "reports", "--include=*.py"],
        cwd=PROJECT_DIR, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert found == ["ingestion/ledger.py"]
