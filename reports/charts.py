"""Charts of the weekly report, drawn with Vega-Altair and turned into inline SVG offline by vl-convert.

Every chart has axes with Chinese titles, a value label on each bar or point and, where the metric has one, its
target drawn as a line; the browser draws the text with the page's CJK font.
"""

from __future__ import annotations

from decimal import Decimal

import altair as alt
import vl_convert

FONT = "Noto Sans CJK SC"
BLUE, ORANGE, RED = "#1F4E79", "#E07B39", "#B00020"
WIDTH = 520


def _number(value) -> float | None:
    return float(value) if isinstance(value, Decimal | int | float) else None


def _values(rows: list[dict]) -> alt.Data:
    return alt.Data(values=[{k: _number(v) if isinstance(v, Decimal) else v for k, v in r.items()} for r in rows])


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as an SVG element (no XML prologue), ready to inline in the page."""
    spec = chart.configure(font=FONT).configure_view(stroke=None).to_dict()
    return vl_convert.vegalite_to_svg(spec)


def _empty(title: str) -> alt.Chart:
    return (
        alt.Chart(alt.Data(values=[{"t": "本周无数据"}]), title=title)
        .mark_text(fontSize=14)
        .encode(text="t:N")
        .properties(width=WIDTH, height=60)
    )


def bars_with_target(
    rows: list[dict], *, label: str, value: str, target: str | None, title: str, axis_title: str, percent: bool
) -> str:
    """One bar per row (label on the x axis) with its value printed above it and its target as a red tick line."""
    if not rows:
        return to_svg(_empty(title))
    data = [
        {"label": r[label], "value": _number(r[value]), "target": _number(r.get(target)) if target else None}
        for r in rows
    ]
    number_format = ".1%" if percent else ",.2f"
    base = alt.Chart(_values(data), title=title).properties(width=WIDTH, height=260)
    x = alt.X("label:N", title="门店", sort=None, axis=alt.Axis(labelAngle=0, labelLimit=140))
    y = alt.Y("value:Q", title=axis_title, axis=alt.Axis(format=".0%" if percent else ",.0f"))
    layers = [
        base.mark_bar(color=BLUE, size=42).encode(x=x, y=y, tooltip=["label:N", "value:Q"]),
        base.mark_text(dy=-8, fontSize=11).encode(x=x, y=y, text=alt.Text("value:Q", format=number_format)),
    ]
    if target and any(d["target"] is not None for d in data):
        targets = base.transform_filter("datum.target != null").transform_calculate(
            target_label=f"'目标 ' + format(datum.target, '{number_format}')"
        )
        layers += [
            targets.mark_tick(color=RED, thickness=3, size=56).encode(x=x, y=alt.Y("target:Q")),
            targets.mark_text(dx=30, align="left", color=RED, fontSize=10).encode(
                x=x, y=alt.Y("target:Q"), text="target_label:N"
            ),
        ]
    return to_svg(alt.layer(*layers))


def trend_by_store(rows: list[dict], *, title: str, value: str, axis_title: str, target: float | None) -> str:
    """Lines per store over the weeks (rows: store_name, week_start, value), labelled points, a target rule."""
    if not rows:
        return to_svg(_empty(title))
    data = [{"store": r["store_name"], "week": str(r["week_start"])[5:], "value": _number(r[value])} for r in rows]
    base = alt.Chart(_values(data), title=title).properties(width=WIDTH, height=260)
    x = alt.X("week:O", title="周(周一)", axis=alt.Axis(labelAngle=0))
    y = alt.Y("value:Q", title=axis_title, axis=alt.Axis(format=".0%"))
    colour = alt.Color("store:N", title="门店", legend=alt.Legend(orient="bottom", columns=2, labelLimit=200))
    layers = [
        base.mark_line(point=True).encode(x=x, y=y, color=colour),
        base.mark_text(dy=-9, fontSize=10).encode(x=x, y=y, color=colour, text=alt.Text("value:Q", format=".0%")),
    ]
    if target is not None:
        rule = alt.Chart(alt.Data(values=[{"target": target}]))
        layers += [
            rule.mark_rule(color=RED, strokeDash=[6, 4]).encode(y="target:Q"),
            rule.mark_text(align="left", dx=4, dy=-6, color=RED, fontSize=10, x=0).encode(
                y="target:Q", text=alt.value(f"目标 {target:.0%}")
            ),
        ]
    return to_svg(alt.layer(*layers))


def horizontal_bars(rows: list[dict], *, label: str, value: str, title: str, axis_title: str, integer: bool) -> str:
    """Bars by label, longest first, each with its value at its end (churn reasons, staff ranking)."""
    if not rows:
        return to_svg(_empty(title))
    data = [{"label": r[label], "value": _number(r[value])} for r in rows]
    base = alt.Chart(_values(data), title=title).properties(width=WIDTH - 120, height=max(60, 24 * len(data)))
    y = alt.Y("label:N", title=None, sort="-x", axis=alt.Axis(labelLimit=160))
    x = alt.X("value:Q", title=axis_title, axis=alt.Axis(format="d" if integer else ",.1f", tickMinStep=1))
    return to_svg(
        alt.layer(
            base.mark_bar(color=BLUE).encode(x=x, y=y),
            base.mark_text(align="left", dx=3, fontSize=11).encode(
                x=x, y=y, text=alt.Text("value:Q", format="d" if integer else ",.1f")
            ),
        )
    )
