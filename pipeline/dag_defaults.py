"""What every DAG of the warehouse shares: one run at a time, no catch-up, the `warehouse` tag, and (for the DAGs that
do work) retries and the failure callback. The DAG files call `dag_settings(...)` and only wire their tasks.

Retries: a deployment retries; local runs and tests through dag.test() set DW_TASK_RETRIES=0 to fail fast.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from pipeline.alerts import notify_failure


def default_args(retries: int, retry_delay: timedelta, **extra: Any) -> dict[str, Any]:
    """Task defaults: `retries` unless DW_TASK_RETRIES says otherwise, the delay, and the failure callback (mail)."""
    return {
        "retries": int(os.environ.get("DW_TASK_RETRIES", str(retries))),
        "retry_delay": retry_delay,
        **extra,
        "on_failure_callback": notify_failure,
    }


def dag_settings(*tags: str, task_defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """The keyword arguments every warehouse DAG passes to @dag (tags: `warehouse` and the DAG's own)."""
    settings: dict[str, Any] = {"catchup": False, "max_active_runs": 1, "tags": ["warehouse", *tags]}
    if task_defaults is not None:
        settings["default_args"] = task_defaults
    return settings
