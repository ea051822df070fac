"""Week on week (周环比) and the five-week trend per store for the weekly report, from the marts only.

The rates come from the marts as they are (rpt_weekly_kpis, rpt_complaint_rate_weekly); the report only sets this
week's value beside last week's and subtracts the two.
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg

from reports.names import store_name
from reports.weekly import Section, fetch

COMPARED = (  # (field, 中文, format, format of the change: delta signed amount, pp points, pp- points lower-better)
    ("premium", "保费", "money", "delta"),
    ("attainment_rate", "达成率", "pct", "pp"),
    ("renewal_rate", "续保率", "pct", "pp"),
    ("complaint_rate", "投诉率", "pct", "pp-"),
)
TREND_WEEKS = 5


def weekly_values(conn: psycopg.Connection, first: date, last: date) -> list[dict]:
    """Each store's (and the group's) weekly KPIs with the week's complaint rate, from `first` to `last`."""
    return fetch(
        conn,
        """
        select kpis.store_code, kpis.week_start, kpis.premium, kpis.premium_target, kpis.attainment_rate,
               kpis.renewal_rate, kpis.renewal_rate_target,
               complaints.surveys_count, complaints.complaints_count, complaints.complaint_rate
        from marts.rpt_weekly_kpis as kpis
        left join marts.rpt_complaint_rate_weekly as complaints
            on kpis.store_code = complaints.store_code and kpis.week_start = complaints.week_start
        where kpis.week_start between %s and %s
        order by kpis.store_code = 'ALL', kpis.store_code, kpis.week_start""",
        (first, last),
    )


def difference(this, last):
    return this - last if this is not None and last is not None else None


def week_on_week_section(conn: psycopg.Connection, week_start: date, names: dict[str, str]) -> Section:
    before = week_start - timedelta(weeks=1)
    values = {(r["store_code"], r["week_start"]): r for r in weekly_values(conn, before, week_start)}
    rows = []
    for code in dict.fromkeys(code for code, week in values if week == week_start):
        this, last = values[(code, week_start)], values.get((code, before), {})
        row = {"store_code": code, "store_name": store_name(names, code)}
        for field, _, _, _ in COMPARED:
            row[f"{field}_this"] = this.get(field)
            row[f"{field}_last"] = last.get(field)
            row[f"{field}_change"] = difference(this.get(field), last.get(field))
        rows.append(row)
    columns = [("store_code", "门店", "text")]
    for field, title, kind, change in COMPARED:
        columns += [
            (f"{field}_this", f"本周{title}", kind),
            (f"{field}_last", f"上周{title}", kind),
            (f"{field}_change", f"{title}环比", change),
        ]
    return Section("week_on_week", f"周环比(本周 {week_start} 对比上周 {before})", columns, rows)


def trend_rows(conn: psycopg.Connection, week_start: date, names: dict[str, str]) -> list[dict]:
    """The five weeks up to the report week, per store (not the group), with the store's name."""
    first = week_start - timedelta(weeks=TREND_WEEKS - 1)
    rows = [r for r in weekly_values(conn, first, week_start) if r["store_code"] != "ALL"]
    for row in rows:
        row["store_name"] = store_name(names, row["store_code"])
    return rows


def trend_section(rows: list[dict]) -> Section:
    return Section(
        "trend",
        f"近{TREND_WEEKS}周趋势(按门店)",
        [
            ("store_code", "门店", "text"),
            ("week_start", "周(周一)", "date"),
            ("premium", "保费", "money"),
            ("premium_target", "目标", "money"),
            ("attainment_rate", "达成率", "pct"),
            ("renewal_rate", "续保率", "pct"),
            ("surveys_count", "回访数", "int"),
            ("complaints_count", "投诉数", "int"),
            ("complaint_rate", "投诉率", "pct"),
        ],
        rows,
    )
