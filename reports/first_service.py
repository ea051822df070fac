"""首保提醒 files for each store's after-sales team: cars delivered here that have not had their first service.

Read from `marts.rpt_first_service_due_list`; one Excel workbook and one CSV per store in
`$DW_REPORTS/first_service/` (files 0640, folder 0750), rows by days to the first-service due date. Dates are date
cells, every column has an autofilter.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import psycopg
import xlsxwriter

from reports.safe_output import file_part, private_folder, safe_workbook, sheet_name, write_csv

COLUMNS = (
    ("vin", "车架号", "text"),
    ("plate", "车牌号", "text"),
    ("delivery_date", "交车日期", "date"),
    ("first_service_due_date", "首保到期日", "date"),
    ("days_to_due", "剩余天数", "int"),
    ("contact_window_days", "联系窗口(天)", "int"),
    ("contact_30_date", "30天联系日", "date"),
    ("contact_15_date", "15天联系日", "date"),
    ("contact_3_date", "3天联系日", "date"),
    ("sales_consultant_name", "交车销售顾问", "text"),
    ("assigned_team", "负责团队", "text"),
)


def fetch_rows(url: str) -> list[dict]:
    with psycopg.connect(url) as conn:
        cursor = conn.execute(
            """
            select lists.*, vehicles.latest_plate as plate, staff.staff_name as sales_consultant_name
            from marts.rpt_first_service_due_list as lists
            left join marts.dim_vehicle as vehicles on lists.vin = vehicles.vin
            left join marts.dim_staff as staff on lists.sales_consultant_staff_id = staff.staff_id
            order by lists.store_code, lists.days_to_due, lists.vin
            """
        )
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def write_first_service_lists(url: str, as_of: date, out_dir: Path) -> list[Path]:
    by_store: dict[str, list[dict]] = defaultdict(list)
    for row in fetch_rows(url):
        by_store[row["store_code"]].append(row)
    folder = private_folder(out_dir / "first_service")
    written = []
    for store, rows in sorted(by_store.items()):
        workbook_path = folder / f"首保提醒_{file_part(store)}_{as_of}.xlsx"
        with safe_workbook(workbook_path) as book:
            write_sheet(book, store, rows)
        csv_path = folder / f"首保提醒_{file_part(store)}_{as_of}.csv"
        write_csv(
            csv_path,
            [title for _, title, _ in COLUMNS],
            ([row[f] if row[f] is not None else "" for f, _, _ in COLUMNS] for row in rows),
        )
        written += [workbook_path, csv_path]
    return written


def write_sheet(book: xlsxwriter.Workbook, store: str, rows: list[dict]) -> None:
    header = book.add_format({"bold": True, "bg_color": "#385723", "font_color": "white"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet = book.add_worksheet(sheet_name(store))
    sheet.write_row(0, 0, [title for _, title, _ in COLUMNS], header)
    for index, row in enumerate(rows, start=1):
        for col, (field, _, kind) in enumerate(COLUMNS):
            value = row[field]
            if value is None:
                continue
            if kind == "date":
                sheet.write_datetime(index, col, value, day)
            elif kind == "int":
                sheet.write_number(index, col, value)
            else:
                sheet.write_string(index, col, str(value))
    sheet.autofilter(0, 0, len(rows), len(COLUMNS) - 1)
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, len(COLUMNS) - 1, 14)
