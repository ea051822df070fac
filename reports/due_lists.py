"""应续清单 files for insurance staff: per store an Excel workbook (a sheet per assignee) and a CSV, with contacts.

Read from `marts.rpt_renewal_due_list_contacts`, the only mart with phone numbers; the files go to
`$DW_REPORTS/due_lists/`, a folder only insurance staff should be able to open.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import psycopg

from reports.safe_output import file_part, private_folder, safe_workbook, sheet_name, write_csv

COLUMNS = (
    ("vin", "车架号"),
    ("plate", "车牌号"),
    ("expiring_policy_no", "到期保单号"),
    ("insurer_code", "保险公司"),
    ("due_date", "到期日"),
    ("days_to_expiry", "剩余天数"),
    ("contact_window_days", "联系窗口(天)"),
    ("insured_name", "被保险人"),
    ("insured_phone", "联系电话"),
    ("assigned", "负责人"),
)


def write_due_lists(url: str, as_of: date, out_dir: Path) -> list[Path]:
    with psycopg.connect(url) as conn:
        cursor = conn.execute(
            "select *, coalesce(assigned_staff_id, assigned_team) as assigned "
            "from marts.rpt_renewal_due_list_contacts order by store_code, assigned, due_date, expiring_policy_no"
        )
        names = [c.name for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    by_store: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_store[row["store_code"]].append(row)
    folder = private_folder(out_dir / "due_lists")
    written = []
    for store, store_rows in sorted(by_store.items()):
        workbook_path = folder / f"应续清单_{file_part(store)}_{as_of}.xlsx"
        with safe_workbook(workbook_path) as book:
            header = book.add_format({"bold": True, "bg_color": "#1F4E79", "font_color": "white"})
            urgent = book.add_format({"bg_color": "#FDE9E7"})
            by_assignee: dict[str, list[dict]] = defaultdict(list)
            for row in store_rows:
                by_assignee[row["assigned"]].append(row)
            taken: set[str] = set()
            for assignee, assignee_rows in sorted(by_assignee.items()):
                sheet = book.add_worksheet(sheet_name(assignee, taken))
                sheet.write_row(0, 0, [title for _, title in COLUMNS], header)
                for index, row in enumerate(assignee_rows, start=1):
                    style = urgent if row["contact_window_days"] == 15 else None
                    sheet.write_row(
                        index, 0, [str(row[field]) if row[field] is not None else "" for field, _ in COLUMNS], style
                    )
                sheet.freeze_panes(1, 0)
                sheet.set_column(0, len(COLUMNS) - 1, 16)
        csv_path = folder / f"应续清单_{file_part(store)}_{as_of}.csv"
        write_csv(
            csv_path,
            [title for _, title in COLUMNS],
            [[row[field] if row[field] is not None else "" for field, _ in COLUMNS] for row in store_rows],
        )
        written += [workbook_path, csv_path]
    return written
