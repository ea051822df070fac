"""Sections of the weekly report for renewal operations: each person's funnel with the target (the load warnings
moved to reports/quality.py, with the rest of the week's data-quality warnings)."""

from __future__ import annotations

from datetime import date

import psycopg

from reports.weekly import Section, fetch, ratio, sum_of

FUNNEL_COUNTS = (
    "due_count",
    "contacted_count",
    "effective_contact_count",
    "contacted_by_30_count",
    "contacted_by_15_count",
    "quoted_count",
    "renewed_count",
    "lost_count",
    "pending_count",
)


def funnel_section(conn: psycopg.Connection, month: date) -> Section:
    """续保漏斗 of the month's due cohort per store and person (the store team as 门店团队), with 续保率目标."""
    rows = fetch(
        conn,
        """
        select funnel.*, case when funnel.staff_id = '' then '门店团队' else staff.staff_name end as staff_name
        from marts.rpt_renewal_funnel_staff_monthly as funnel
        left join marts.dim_staff as staff on funnel.staff_id = staff.staff_id
        where funnel.due_month = %s
        order by funnel.store_code, funnel.renewal_rate desc nulls last, funnel.staff_id""",
        (month,),
    )
    totals = {"store_code": "合计", **{field: sum_of(rows, field) for field in (*FUNNEL_COUNTS, "lost_premium")}}
    totals["renewal_rate"] = ratio(totals["renewed_count"], totals["due_count"])
    totals["effective_contact_rate"] = ratio(totals["effective_contact_count"], totals["due_count"])
    return Section(
        "funnel",
        "续保漏斗(当月到期,按负责人)",
        [
            ("store_code", "门店", "text"),
            ("staff_id", "工号", "text"),
            ("staff_name", "姓名", "text"),
            ("due_count", "应续", "int"),
            ("contacted_count", "已联系", "int"),
            ("effective_contact_count", "有效联系", "int"),
            ("contacted_by_30_count", "到期前30天有效联系", "int"),
            ("contacted_by_15_count", "到期前15天有效联系", "int"),
            ("quoted_count", "已报价", "int"),
            ("renewed_count", "已续", "int"),
            ("lost_count", "战败", "int"),
            ("pending_count", "待续", "int"),
            ("renewal_rate", "续保率", "pct"),
            ("renewal_rate_target", "续保率目标", "pct"),
            ("effective_contact_rate", "有效联系率", "pct"),
            ("lost_premium", "流失保费", "money"),
        ],
        rows,
        totals,
    )
