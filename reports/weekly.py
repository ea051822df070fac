"""The weekly report (周报), built from the marts only: an Excel workbook for finance and an HTML page with charts.

Every Monday for the week before: premium against the pro-rated target, the month's renewal rate with
pending, new-car penetration, accident-repair retention, linkage conversion, staff ranking, each person's
renewal funnel with the target, churn by reason, data-quality warnings (load warnings included) and the
lagging items (滞后项目) with their owners, per store and for the group; week on week and the 5-week trend
(week_on_week.py). Stores and people by name (names.py), the week's DQ warnings (quality.py), the page from a Jinja2
template with Altair charts (page.py, charts.py); group totals are the marts' group rows, not sums made here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg
import xlsxwriter

from reports.safe_output import private_folder, safe_workbook, sheet_name, write_text


@dataclass
class Section:
    key: str
    title: str
    columns: list[tuple[str, str, str]]  # (field, 中文 header, format: text|int|money|pct|date|num)
    rows: list[dict]
    totals: dict | None = None


def report_week(logical_date: date) -> date:
    """Monday of the week before the logical date (the report runs on Mondays for the week before)."""
    this_monday = logical_date - timedelta(days=logical_date.weekday())
    return this_monday - timedelta(days=7)


def fetch(conn: psycopg.Connection, sql: str, params: tuple = ()) -> list[dict]:
    cursor = conn.execute(sql, params)
    names = [c.name for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def sum_of(rows: list[dict], field: str) -> Decimal | int:
    return sum((r[field] or 0) for r in rows)


def ratio(numerator, denominator):
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001")) if denominator else None


def load_sections(conn: psycopg.Connection, week_start: date, until: date | None = None) -> list[Section]:
    month = week_start.replace(day=1)
    kpis = fetch(
        conn,
        "select * from marts.rpt_weekly_kpis where week_start = %s order by store_code = 'ALL', store_code",
        (week_start,),
    )
    renewal = fetch(
        conn, "select * from marts.rpt_renewal_rate_monthly where due_month = %s order by store_code", (month,)
    )
    penetration = fetch(
        conn, "select * from marts.rpt_new_car_penetration_monthly where month = %s order by store_code", (month,)
    )
    retention = fetch(
        conn, "select * from marts.rpt_accident_repair_retention_monthly where month = %s order by store_code", (month,)
    )
    linkage = fetch(
        conn,
        "select * from marts.rpt_linkage_monthly where month = %s order by store_code, source_department",
        (month,),
    )
    staff = fetch(
        conn,
        """
        select k.staff_id, s.staff_name, k.store_code, k.policies_signed, k.premium, k.premium_target,
               k.attainment_rate, k.satisfaction_avg, k.kpi_score, k.tiered_bonus, k.renewal_commission
        from marts.fct_staff_kpi_monthly k left join marts.dim_staff s using (staff_id)
        where k.month = %s order by k.kpi_score desc nulls last, k.staff_id""",
        (month,),
    )
    # a due month's losses are known only 30 days after it: churn covers the three due months before this one
    churn = fetch(
        conn,
        """
        select lost_reason, sum(lost_count)::int as lost_count from marts.rpt_churn_analysis
        where month >= %s::date - interval '3 months' and month < %s group by lost_reason order by 2 desc, 1""",
        (month, month),
    )
    from reports.names import reason_name
    from reports.quality import week_warnings
    from reports.renewal_sections import funnel_section

    for row in churn:
        row["lost_reason"] = reason_name(row["lost_reason"])
    warnings = week_warnings(conn, week_start, until)  # the week's runs up to the one building the report
    funnel = funnel_section(conn, month)
    lagging = [
        {"store_code": k["store_code"], "item": item.strip()}
        for k in kpis
        if k["lagging_items"]
        for item in k["lagging_items"].split(";")
    ]
    for row in lagging:
        row["owner"] = row["item"].rsplit("(", 1)[-1].rstrip(")") if "(" in row["item"] else ""

    stores = [k for k in kpis if k["store_code"] != "ALL"]
    group = next((k for k in kpis if k["store_code"] == "ALL"), {})  # the group's figures, computed once in SQL
    return [
        Section(
            "overview",
            "经营概览",
            [
                ("store_code", "门店", "text"),
                ("premium", "本周保费", "money"),
                ("premium_target", "本周目标(按天折算)", "money"),
                ("attainment_rate", "达成率", "pct"),
                ("renewal_rate", "当月续保率", "pct"),
                ("penetration_rate", "新保渗透率", "pct"),
                ("retention_rate", "事故车留修率", "pct"),
                ("lagging_items", "滞后项目", "text"),
            ],
            kpis,
        ),
        Section(
            "renewal",
            "续保率(当月到期)",
            [
                ("store_code", "门店", "text"),
                ("due_count", "应续", "int"),
                ("renewed_count", "已续", "int"),
                ("lost_count", "战败", "int"),
                ("pending_count", "待续", "int"),
                ("renewal_rate", "续保率", "pct"),
            ],
            renewal,
            {
                "store_code": "合计",
                **{f: sum_of(renewal, f) for f in ("due_count", "renewed_count", "lost_count", "pending_count")},
                "renewal_rate": group.get("renewal_rate"),
            },
        ),
        funnel,  # each person's funnel right after the store renewal rates, so the first screen of the page shows it
        Section(
            "penetration",
            "新保渗透率",
            [
                ("store_code", "门店", "text"),
                ("cars_delivered", "交车数", "int"),
                ("cars_insured_here", "本店投保", "int"),
                ("penetration_rate", "渗透率", "pct"),
            ],
            penetration,
            {
                "store_code": "合计",
                "cars_delivered": sum_of(penetration, "cars_delivered"),
                "cars_insured_here": sum_of(penetration, "cars_insured_here"),
                "penetration_rate": group.get("penetration_rate"),
            },
        ),
        Section(
            "retention",
            "事故车留修率",
            [
                ("store_code", "门店", "text"),
                ("claims_count", "报案数", "int"),
                ("repaired_here_count", "本店维修", "int"),
                ("retention_rate", "留修率", "pct"),
            ],
            retention,
            {
                "store_code": "合计",
                "claims_count": sum_of(retention, "claims_count"),
                "repaired_here_count": sum_of(retention, "repaired_here_count"),
                "retention_rate": group.get("retention_rate"),
            },
        ),
        Section(
            "linkage",
            "联动转化",
            [
                ("store_code", "门店", "text"),
                ("source_department", "来源部门", "text"),
                ("leads", "线索", "int"),
                ("converted", "成交", "int"),
                ("conversion_rate", "转化率", "pct"),
            ],
            linkage,
            {
                "store_code": "合计",
                "leads": sum_of(linkage, "leads"),
                "converted": sum_of(linkage, "converted"),
                "conversion_rate": ratio(sum_of(linkage, "converted"), sum_of(linkage, "leads")),
            },
        ),
        Section(
            "staff",
            "员工排名(当月)",
            [
                ("staff_id", "工号", "text"),
                ("staff_name", "姓名", "text"),
                ("store_code", "门店", "text"),
                ("policies_signed", "签单", "int"),
                ("premium", "保费", "money"),
                ("premium_target", "保费目标", "money"),
                ("attainment_rate", "达成率", "pct"),
                ("satisfaction_avg", "满意度", "num"),
                ("kpi_score", "KPI得分", "num"),
                ("tiered_bonus", "阶梯奖金", "money"),
                ("renewal_commission", "续保提成", "money"),
            ],
            staff,
            {
                "staff_id": "合计",
                "policies_signed": sum_of(staff, "policies_signed"),
                "premium": sum_of(staff, "premium"),
                "tiered_bonus": sum_of(staff, "tiered_bonus"),
                "renewal_commission": sum_of(staff, "renewal_commission"),
            },
        ),
        Section(
            "churn",
            "流失原因(近3个到期月)",
            [("lost_reason", "战败原因", "text"), ("lost_count", "流失数", "int")],
            churn,
            {"lost_reason": "合计", "lost_count": sum_of(churn, "lost_count")},
        ),
        Section(
            "quality",
            "数据质量警告",
            QUALITY_COLUMNS,
            warnings,
        ),
        Section(
            "lagging",
            "滞后项目",
            [("store_code", "门店", "text"), ("item", "项目", "text"), ("owner", "责任部门", "text")],
            lagging,
        ),
        Section(
            "stores_premium",
            "门店保费合计",
            [("store_code", "门店", "text"), ("premium", "本周保费", "money"), ("premium_target", "本周目标", "money")],
            stores,
            {
                "store_code": "合计",
                "premium": group.get("premium"),  # = Σ stores to the cent; the target is the group's, unrounded
                "premium_target": group.get("premium_target"),
            },
        ),
    ]


QUALITY_COLUMNS = [
    ("checkpoint", "检查点", "text"),
    ("suite", "套件", "text"),
    ("expectation", "规则", "text"),
    ("column_name", "字段", "text"),
    ("observed", "观察值", "text"),
]


def write_workbook(path: Path, week_start: date, sections: list[Section]) -> None:
    with safe_workbook(path) as book:  # text stays text; written under a temporary name, then renamed
        fill_workbook(book, week_start, sections)


def fill_workbook(book: xlsxwriter.Workbook, week_start: date, sections: list[Section]) -> None:
    book.set_properties({"title": f"保险业务周报 {week_start}", "created": None})
    header = book.add_format(
        {
            "bold": True,
            "bg_color": "#1F4E79",
            "font_color": "white",
            "border": 1,
            "text_wrap": True,
            "valign": "vcenter",
        }
    )
    formats = {
        "money": book.add_format({"num_format": "#,##0.00"}),
        "pct": book.add_format({"num_format": "0.0%"}),
        "pp": book.add_format({"num_format": "+0.0%;-0.0%;0.0%"}),
        "pp-": book.add_format({"num_format": "+0.0%;-0.0%;0.0%"}),
        "delta": book.add_format({"num_format": "+#,##0.00;-#,##0.00;0.00"}),
        "int": book.add_format({"num_format": "#,##0"}),
        "num": book.add_format({"num_format": "0.00"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "text": book.add_format({}),
    }
    bold = {k: book.add_format({"num_format": f.num_format, "bold": True, "top": 1}) for k, f in formats.items()}
    for section in sections:
        sheet = book.add_worksheet(sheet_name(section.title))
        for col, (_, title, kind) in enumerate(section.columns):
            sheet.write(0, col, title, header)
            sheet.set_column(col, col, 40 if kind == "text" and col == len(section.columns) - 1 else 14)
        for row_index, row in enumerate(section.rows, start=1):
            for col, (field, _, kind) in enumerate(section.columns):
                write_cell(sheet, row_index, col, row.get(field), formats[kind])
        if section.totals:
            total_row = len(section.rows) + 1
            for col, (field, _, kind) in enumerate(section.columns):
                write_cell(sheet, total_row, col, section.totals.get(field), bold[kind])
        sheet.freeze_panes(1, 0)
        if section.rows:
            sheet.autofilter(0, 0, len(section.rows), len(section.columns) - 1)


def write_cell(sheet, row: int, col: int, value, cell_format) -> None:
    if value is None:
        sheet.write_blank(row, col, None, cell_format)
    elif isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        sheet.write_number(row, col, float(value), cell_format)
    elif isinstance(value, date):
        sheet.write_datetime(row, col, value, cell_format) if hasattr(value, "hour") else sheet.write(
            row, col, value.isoformat(), cell_format
        )
    else:
        sheet.write_string(row, col, str(value), cell_format)


def display(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "pct":
        return f"{float(value) * 100:.1f}%"
    if kind == "delta":  # a change of an amount, signed
        return f"{value:+,.2f}"
    if kind in ("pp", "pp-"):  # the change of a rate, in percentage points (pp-: lower is better)
        points = (Decimal(value) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        return f"{points:+}个百分点"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "num":
        return f"{float(value):.2f}"
    return str(value)


def write_html(path: Path, week_start: date, sections: list[Section], trend: list[dict]) -> None:
    from reports.page import render_page

    write_text(path, render_page(week_start, sections, trend))


def build_weekly_report(url: str, logical_date: date, out_dir: Path) -> dict:
    """Write 周报_<week>.xlsx and 周报_<week>.html for the week before `logical_date`; return their paths."""
    week_start = report_week(logical_date)
    private_folder(out_dir)
    from reports.names import store_names, with_names
    from reports.plan_section import add_plan_section
    from reports.week_on_week import trend_rows, trend_section, week_on_week_section

    with psycopg.connect(url) as conn:
        names = store_names(conn)
        sections = add_plan_section(conn, week_start, load_sections(conn, week_start, logical_date))
        trend = trend_rows(conn, week_start, names)
        sections[1:1] = [week_on_week_section(conn, week_start, names), trend_section(trend)]
        sections = with_names(sections, names)
    workbook = out_dir / f"周报_{week_start}.xlsx"
    page = out_dir / f"周报_{week_start}.html"
    write_workbook(workbook, week_start, sections)
    write_html(page, week_start, sections, trend)
    return {"week_start": week_start.isoformat(), "workbook": str(workbook), "html": str(page)}
