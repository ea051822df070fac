"""The weekly report's data-quality section: every warning of the runs in the report week, never "no data" over one.

- Great Expectations warnings recorded by the week's runs (dq.validation_results, as-of date in the window);
- load warnings (marts.rpt_load_warnings): cells left empty while their row loaded, of files exported in the window
  or loaded by a run of the window (ops.pipeline_runs' new batches, when the login may read the ledger);
- rows a load rejected (raw._rejects; rows held for a staff code no roster lists yet as 数据加载(暂扣待花名册)) and
  batches a gate held (raw._batches status held / failed), of files exported in the week, when the reading login
  may see the ingestion ledger (a BI-safe login skips them).
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import psycopg

from reports.weekly import fetch

NONE_IN_WEEK = "本周运行无数据质量警告"
RUN_FILES = """
    select batches.source_file from ops.pipeline_runs as runs
    cross join lateral jsonb_array_elements_text(runs.summary -> 'ingest' -> 'new_batches') as loaded (batch_id)
    inner join raw._batches as batches on loaded.batch_id::bigint = batches.batch_id
    where runs.as_of between %(first)s and %(last)s"""
BATCH_STATUS_NAMES = {"held": "已暂扣(门禁未通过)", "failed": "加载失败"}


def observed_text(observed: str | None) -> str | None:
    """GX's observed value as a person reads it: `异常 3 / 238: 5.59, 0.19, 0.17` (else as recorded)."""
    try:
        value = json.loads(observed) if observed else None
    except ValueError:
        return observed
    if not isinstance(value, dict) or "unexpected_count" not in value:
        return observed
    examples = ", ".join(
        f"{v:.2f}" if isinstance(v, float) else str(v) for v in (value.get("partial_unexpected_list") or [])[:5]
    )
    text = f"异常 {value['unexpected_count']} / {value.get('element_count', '?')}"
    return f"{text}: {examples}" if examples else text


def readable(conn: psycopg.Connection, relation: str) -> bool:
    return bool(
        conn.execute(
            "select to_regclass(%s) is not null and has_table_privilege(to_regclass(%s), 'select')",
            (relation, relation),
        ).fetchone()[0]
    )


def week_warnings(conn: psycopg.Connection, week_start: date, until: date | None = None) -> list[dict]:
    """The week's warnings, newest source first within each kind. The window is the report week up to the run that
    builds the report: the Monday after it for the weekly DAG, or a later logical date (a `make run` on a Sunday
    reports the week before last and lists the warnings its own run printed)."""
    last = max(week_start + timedelta(days=7), until or week_start)
    rows: list[dict] = []
    if readable(conn, "dq.validation_results"):
        rows += fetch(
            conn,
            """
            select '数据校验 ' || checkpoint as checkpoint, suite, expectation, column_name,
                   observed::text as observed
            from dq.validation_results
            where not success and severity = 'warning' and as_of between %s and %s
            group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4""",
            (week_start, last),
        )
    for row in rows:
        row["observed"] = observed_text(row["observed"])
    loaded_by_runs = (  # the files the window's runs loaded (ops.pipeline_runs keeps each run's new batches)
        RUN_FILES if readable(conn, "ops.pipeline_runs") and readable(conn, "raw._batches") else "select null"
    )
    if readable(conn, "marts.rpt_load_warnings"):
        rows += [
            {
                "checkpoint": "数据加载",
                "suite": row["feed"],
                "expectation": row["message"],
                "column_name": row["column_header"],
                "observed": f"{row['source_file']} 第{row['source_row_number']}行: {row['cell_value']}",
            }
            for row in fetch(
                conn,
                "select * from marts.rpt_load_warnings where exported_on between %(first)s and %(last)s "
                f"or source_file in ({loaded_by_runs}) order by exported_on desc, source_file, source_row_number",
                {"first": week_start, "last": last},
            )
        ]
    if readable(conn, "raw._rejects") and readable(conn, "raw._batches"):
        rows += fetch(
            conn,
            f"""
            select case when rejects.held_staff_code is null then '数据加载(拒收行)' else '数据加载(暂扣待花名册)' end
                   as checkpoint, rejects.feed as suite, rejects.reason as expectation,
                   null as column_name, rejects.source_file || ' 第' || rejects.row_number || '行' as observed
            from raw._rejects as rejects
            inner join raw._batches as batches on rejects.batch_id = batches.batch_id
            where batches.export_date between %(first)s and %(last)s or batches.source_file in ({loaded_by_runs})
            order by batches.export_date desc, rejects.source_file, rejects.row_number""",
            {"first": week_start, "last": last},
        )
        held = fetch(
            conn,
            "select feed, source_file, status, message from raw._batches "
            "where status in ('held', 'failed') and export_date between %s and %s order by export_date desc, feed",
            (week_start, last),
        )
        rows += [
            {
                "checkpoint": "数据加载(批次)",
                "suite": row["feed"],
                "expectation": BATCH_STATUS_NAMES[row["status"]],
                "column_name": None,
                "observed": f"{row['source_file']}: {row['message'] or ''}",
            }
            for row in held
        ]
    return rows
