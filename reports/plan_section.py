"""The weekly report's half-year plan section (S0 半年度计划), from `marts.rpt_plan_tracking_monthly`.

Each store's and the group's six plan metrics for the month of the report week, with the target band and status;
every lagging metric also becomes a lagging item (滞后项目) with its owning department (seed `plan_targets`). After
the lagging items, their ledger (`marts.rpt_lagging_items`): the week's new, still open (overdue ones marked) and
resolved items with the owner's name, the week each opened and its due week (PDCA: 下周报告中反馈解决进展).
"""

from __future__ import annotations

from datetime import date

import psycopg

from reports.weekly import Section, fetch

PLAN_COLUMNS = [
    ("store_code", "门店", "text"),
    ("metric_name", "指标", "text"),
    ("value", "本月值", "pct"),
    ("target_low", "目标下限", "pct"),
    ("target_high", "目标上限", "pct"),
    ("status_name", "状态", "text"),
]
STATUS_NAMES = {"lagging": "滞后", "on_track": "达标", None: "无数据"}
LEDGER_COLUMNS = [
    ("store_code", "门店", "text"),
    ("metric_name", "指标", "text"),
    ("value", "本周值", "pct"),
    ("target", "目标", "pct"),
    ("status_name", "状态", "text"),
    ("owner", "责任人", "text"),
    ("opened_week", "开始周", "date"),
    ("due_week", "整改期限", "date"),
    ("weeks_open", "已持续(周)", "int"),
]
LEDGER_STATUS_NAMES = {"new": "新增", "open": "整改中", "overdue": "逾期", "resolved": "已解决"}


def plan_rows(conn: psycopg.Connection, month: date) -> list[dict]:
    rows = fetch(
        conn,
        "select plan.store_code, plan.metric, targets.metric_name, plan.value, plan.target_low, plan.target_high, "
        "plan.status, targets.owner_department from marts.rpt_plan_tracking_monthly as plan "
        "inner join marts.plan_targets as targets on plan.metric = targets.metric "
        "where plan.month = %s order by plan.store_code = 'ALL', plan.store_code, plan.metric",
        (month,),
    )
    for row in rows:
        row["status_name"] = STATUS_NAMES[row["status"]]
    return rows


def lagging_plan_items(rows: list[dict]) -> list[dict]:
    """A lagging plan metric as a lagging item: `<指标> 12.3% < 40.0%`, owned by its department."""
    return [
        {
            "store_code": row["store_code"],
            "item": f"{row['metric_name']} {float(row['value']) * 100:.1f}% < {float(row['target_low']) * 100:.1f}%",
            "owner": row["owner_department"],
        }
        for row in rows
        if row["status"] == "lagging"
    ]


def ledger_rows(conn: psycopg.Connection, week_start: date) -> list[dict]:
    rows = fetch(
        conn,
        "select items.*, coalesce(metrics.metric_name, '计划·' || targets.metric_name, items.metric) as metric_name "
        "from marts.rpt_lagging_items as items "
        "left join marts.lagging_metrics as metrics on items.metric = metrics.metric "
        "left join marts.plan_targets as targets on items.metric = 'plan_' || targets.metric "
        "where items.week_start = %s "
        "order by items.store_code = 'ALL', items.store_code, items.status = 'resolved', items.opened_week, "
        "items.metric",
        (week_start,),
    )
    for row in rows:
        row["status_name"] = LEDGER_STATUS_NAMES[row["status"]]
        row["owner"] = " ".join(part for part in (row["owner_name"], row["owner_department"]) if part)
    return rows


def add_plan_section(conn: psycopg.Connection, week_start: date, sections: list[Section]) -> list[Section]:
    """Insert the plan section before the lagging items and add the lagging plan metrics to them."""
    rows = plan_rows(conn, week_start.replace(day=1))
    plan = Section("plan", "半年度计划跟踪", PLAN_COLUMNS, rows)
    keys = [section.key for section in sections]
    if "lagging" in keys:
        lagging = sections[keys.index("lagging")]
        lagging.rows = lagging.rows + lagging_plan_items(rows)
        sections.insert(keys.index("lagging"), plan)
        sections.insert(
            keys.index("lagging") + 2, Section("ledger", "滞后项目台账", LEDGER_COLUMNS, ledger_rows(conn, week_start))
        )
    else:
        sections.append(plan)
    return sections
