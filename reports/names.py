"""Names instead of codes in the weekly report: a store by its name (dim_store), the group as 集团, a person by name.

Applied to every section after it is loaded, so a section is written with the mart's codes and read by a manager with
names: a `store_code` column becomes 门店 with the store's name, a `staff_id` column next to a `staff_name` one is
dropped, and a reason the marts record as `unknown` reads 未记录.
"""

from __future__ import annotations

import psycopg

GROUP = "集团"
UNKNOWN_REASON = "未记录"
UNKNOWN_WORDS = {None, "", "unknown"}


def store_names(conn: psycopg.Connection) -> dict[str, str]:
    names = dict(conn.execute("select store_code, store_name from marts.dim_store").fetchall())
    return {**names, "ALL": GROUP}


def store_name(names: dict[str, str], code: str | None) -> str | None:
    return names.get(code, code) if code is not None else None


def reason_name(reason: str | None) -> str:
    return UNKNOWN_REASON if reason in UNKNOWN_WORDS else reason


def with_names(sections: list, names: dict[str, str]) -> list:
    """Every section with store names for store codes and without the staff-code column (the name is beside it)."""
    for section in sections:
        fields = [field for field, _, _ in section.columns]
        if "store_code" in fields:
            for row in section.rows:
                row["store_name"] = store_name(names, row.get("store_code"))
            if section.totals is not None:
                section.totals.setdefault("store_name", section.totals.get("store_code"))
        if {"staff_id", "staff_name"} <= set(fields) and section.totals and "staff_id" in section.totals:
            section.totals.setdefault("staff_name", section.totals["staff_id"])
        section.columns = [
            ("store_name", title, kind) if field == "store_code" else (field, title, kind)
            for field, title, kind in section.columns
            if not (field == "staff_id" and "staff_name" in fields)
        ]
    return sections
