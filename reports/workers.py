"""Workbooks written by worker processes: writing the cells is a report's cost, not its query, and one Python process
writes them on one core. `in_worker_processes` maps a picklable module-level function over its items in up to one
process per core (`spawn`: nothing of the caller's state, an Airflow task's included, is copied into them), or in the
caller for a single item."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

MAX_WORKERS = 4  # processes writing at once (never more than the cores)

Item = TypeVar("Item")
Result = TypeVar("Result")


def in_worker_processes(function: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
    items = list(items)
    workers = min(len(items), os.cpu_count() or 1, MAX_WORKERS)
    if workers <= 1:
        return [function(item) for item in items]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(function, items))
