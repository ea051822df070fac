"""Whether the dbt project changed since the warehouse was last built, and the models' watermarks a build starts from.

Incremental models keep the rows that the code of their day computed. When a model, macro, seed or the project file
changes (a deploy, a new column, a new window in a seed), those rows would stay as they were, or the incremental SQL
would read a column its old table does not have. So the first build after such a change rebuilds every model in full,
and says why.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import psycopg

from pipeline.settings import PROJECT_DIR

DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
# what decides the rows a model writes; docs blocks and descriptions (docs/, *.md) do not
CODE = ("dbt_project.yml", "models", "macros", "seeds", "snapshots")


def project_fingerprint(project_dir: Path = DBT_PROJECT_DIR) -> str:
    digest = hashlib.sha256()
    files = [project_dir / CODE[0]] + [p for part in CODE[1:] for p in (project_dir / part).rglob("*") if p.is_file()]
    for path in sorted(p for p in files if p.suffix in (".yml", ".yaml", ".sql", ".csv")):
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def rebuild_reason(conn: psycopg.Connection, fingerprint: str) -> str | None:
    """Why the next build must rebuild in full, or None: the code differs from that of the last complete build, or
    the warehouse was built before the code was recorded. A warehouse never built needs nothing."""
    stored = conn.execute("select fingerprint from ops.dbt_project_state").fetchone()
    if stored is None:
        built = conn.execute("select exists (select 1 from ops.dbt_watermarks)").fetchone()[0]
        return "the warehouse was built by an earlier version of the dbt project" if built else None
    if stored[0] != fingerprint:
        return "the dbt project (models, macros, seeds or dbt_project.yml) changed since the last build"
    return None


def built_with(conn: psycopg.Connection, fingerprint: str) -> bool:
    """Whether the last complete build ran this code (so every seed and view is as this code defines it)."""
    stored = conn.execute("select fingerprint from ops.dbt_project_state").fetchone()
    return stored is not None and stored[0] == fingerprint


# The nodes a build of unchanged code can leave out where the last complete build ran them: the seeds (rule tables
# loaded from the files the fingerprint covers, so the same rows) and their tests, and the tests of BI's views (each
# a projection of one mart, whose own tests carry the same checks; tests/test_dbt_project.py holds that). They run in
# every full rebuild, which a change of code starts; the tests also in the weekly whole-table suite, and by hand.
CODE_ONLY_NODES = ("resource_type:seed", "resource_type:test,path:seeds", "resource_type:test,path:models/bi")


def record_built(conn: psycopg.Connection, fingerprint: str) -> None:
    conn.execute(
        "insert into ops.dbt_project_state (id, fingerprint) values (1, %s) on conflict (id) do update "
        "set fingerprint = excluded.fingerprint, built_at = now()",
        (fingerprint,),
    )


def recorded_watermarks(conn: psycopg.Connection) -> str:
    """Every model's watermark (ops.dbt_watermarks: change number and as-of date) as JSON, for dbt's macros
    watermark() and watermark_as_of() (DW_DBT_WATERMARKS), read just before dbt starts: a model's own watermark changes
    only after its statements, so the values stay true for the whole invocation, and the planner sees literals."""
    rows = conn.execute("select model, change_seq, as_of from ops.dbt_watermarks").fetchall()
    return json.dumps(
        {model: {"change_seq": seq, "as_of": as_of.isoformat() if as_of else None} for model, seq, as_of in rows}
    )
