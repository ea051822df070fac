"""The weekly report's HTML page: a Jinja2 template (reports/templates/weekly.html.j2) with Altair charts inline."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from reports import charts
from reports.quality import NONE_IN_WEEK
from reports.weekly import Section, display

TEMPLATES = Path(__file__).parent / "templates"
EMPTY_TEXT = {"quality": NONE_IN_WEEK}


def cell(value, kind: str) -> Markup:
    """A table cell: numbers right-aligned, a change coloured by its sign."""
    classes = []
    if kind != "text":
        classes.append("n")
    if kind in ("pp", "pp-", "delta") and value is not None and value != 0:
        better = value < 0 if kind == "pp-" else value > 0  # a complaint rate going down is good news
        classes.append("up" if better else "down")
    return Markup('<td class="{}">{}</td>').format(" ".join(classes), display(value, kind))


def chart_svgs(sections: dict[str, Section], trend: list[dict]) -> dict[str, Markup]:
    overview = [r for r in sections["overview"].rows if r["store_code"] != "ALL"]
    renewal = sections["renewal"].rows
    week = max((r["week_start"] for r in trend), default=None)
    targets = {r["store_code"]: r["renewal_rate_target"] for r in trend if r["week_start"] == week}
    for row in renewal:
        row["renewal_rate_target"] = targets.get(row["store_code"])
    svgs = {
        "premium_by_store": charts.bars_with_target(
            overview,
            label="store_name",
            value="premium",
            target="premium_target",
            title="本周保费 vs 目标(按门店)",
            axis_title="保费(元)",
            percent=False,
        ),
        "renewal_by_store": charts.bars_with_target(
            renewal,
            label="store_name",
            value="renewal_rate",
            target="renewal_rate_target",
            title="当月续保率 vs 目标(按门店)",
            axis_title="续保率",
            percent=True,
        ),
        "attainment_trend": charts.trend_by_store(
            trend, title="近5周保费达成率(按门店)", value="attainment_rate", axis_title="达成率", target=1.0
        ),
        "churn_reasons": charts.horizontal_bars(
            sections["churn"].rows,
            label="lost_reason",
            value="lost_count",
            title="流失原因(近3个到期月)",
            axis_title="流失数(台)",
            integer=True,
        ),
        "staff_ranking": charts.horizontal_bars(
            [r for r in sections["staff"].rows if r.get("kpi_score") is not None and r.get("staff_name")][:10],
            label="staff_name",
            value="kpi_score",
            title="员工KPI得分(前10名)",
            axis_title="KPI得分",
            integer=False,
        ),
    }
    return {key: Markup(svg) for key, svg in svgs.items()}


def render_page(week_start: date, sections: list[Section], trend: list[dict]) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]), keep_trailing_newline=True
    )
    template = environment.get_template("weekly.html.j2")
    return template.render(
        week_start=week_start,
        week_end=week_start + timedelta(days=6),
        sections=sections,
        charts=chart_svgs({s.key: s for s in sections}, trend),
        cell=cell,
        empty_text=EMPTY_TEXT,
    )
