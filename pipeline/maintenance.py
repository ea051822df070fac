"""Housekeeping the maintenance DAG runs: archive retention, old data-quality results, VACUUM ANALYZE."""

from __future__ import annotations

import os
from datetime import date, timedelta

import psycopg

from pipeline.settings import load_settings
from pipeline.steps import prepare_database


def retention_days(variable: str, default: int) -> int:
    value = os.environ.get(variable, str(default))
    if not value.isdigit():
        raise ValueError(f"{variable} must be a number of days, got {value!r}")
    return int(value)


def prune_archive(as_of: date) -> dict:
    """Delete archived files whose export date (file name) is older than the retention; failed files stay."""
    settings = load_settings()
    cutoff = f"{as_of - timedelta(days=retention_days('DW_ARCHIVE_RETENTION_DAYS', 730)):%Y%m%d}"
    removed = []
    if settings.archive.is_dir():
        for path in settings.archive.rglob("*"):
            if path.is_file() and "failed" not in path.parts and path.name[:8].isdigit() and path.name[:8] < cutoff:
                path.unlink()
                removed.append(str(path.relative_to(settings.archive)))
    return {"cutoff": cutoff, "removed": len(removed)}


def prune_dq_results(as_of: date) -> dict:
    cutoff = as_of - timedelta(days=retention_days("DW_DQ_RETENTION_DAYS", 180))
    with psycopg.connect(prepare_database()) as conn:
        exists = conn.execute("select to_regclass('dq.validation_results')").fetchone()[0]
        deleted = (
            conn.execute("delete from dq.validation_results where as_of < %s", (cutoff,)).rowcount if exists else 0
        )
    return {"cutoff": cutoff.isoformat(), "deleted": deleted}


def vacuum_analyze() -> dict:
    with psycopg.connect(prepare_database(), autocommit=True) as conn:
        tables = [
            f"{s}.{t}"
            for s, t in conn.execute(
                "select schemaname, tablename from pg_tables where schemaname in ('raw', 'marts', 'dq')"
            )
        ]
        for table in tables:
            conn.execute(f"vacuum (analyze) {table}")
    return {"vacuumed": len(tables)}
