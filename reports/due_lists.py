"""应续清单 files for insurance staff: the whole renewal pool in its contact windows, per store and assignee.

Per store an Excel workbook (a sheet per assignee, named by id and name, and a colour legend) and a CSV with every
row of the store. Read from `marts.rpt_renewal_due_list_contacts`, the only due-list mart with phone numbers; the
files go to `$DW_REPORTS/due_lists/`, readable by the owner and its group only (0640; the folder 0750), the
insurance staff's, written through `reports.safe_output` (text stays text, codes sanitised in names, atomic).
Rows: expired cars still in grace first, then by days to the due date, then the win-back calls for lapsed cars.
Dates are real date cells (they sort and filter as dates), every column has an autofilter.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from functools import partial
from pathlib import Path

import psycopg
import xlsxwriter

from reports.safe_output import file_part, private_folder, safe_workbook, sheet_name, write_csv
from reports.workers import in_worker_processes

POOL_TYPES = {
    "group_renewal": "续保(本店保单)",
    "lapsed": "脱保挽回",
    "sold_not_insured": "本店售车未投保",
    "serviced_not_insured": "在修不在保",
}
REASONS = {
    "seller": "原出单员",
    "sales_consultant": "交车销售顾问",
    "service_advisor": "服务顾问",
    "store_team": "门店团队(待经理分配)",
}

# (field, 中文 header, kind: text | int | date)
COLUMNS = (
    ("vin", "车架号", "text"),
    ("plate", "车牌号", "text"),
    ("expiring_policy_no", "到期保单号", "text"),
    ("insurer_code", "保险公司", "text"),
    ("due_date", "到期日", "date"),
    ("days_to_expiry", "剩余天数", "int"),
    ("contact_window_days", "联系窗口(天)", "int"),
    ("contact_60_date", "60天联系日", "date"),
    ("contact_30_date", "30天联系日", "date"),
    ("contact_15_date", "15天联系日", "date"),
    ("last_followup_date", "最近跟进日", "date"),
    ("last_followup_result", "最近跟进结果", "text"),
    ("pool_type_name", "类型", "text"),
    ("call", "本次任务", "text"),
    ("insured_name", "客户", "text"),
    ("insured_phone", "联系电话", "text"),
    ("assigned_staff_id", "负责人工号", "text"),
    ("assignee_name", "负责人", "text"),
    ("reason_name", "分配依据", "text"),
)

# row group → (fill colour, legend text)
LEGEND = {
    "expired": ("#F8CBAD", "已到期、仍在宽限期内(到期后30天内):最优先"),
    "urgent": ("#FFE699", "15天内到期:最后一次联系窗口"),
    "upcoming": (None, "60天内到期"),
    "win_back": ("#BDD7EE", "脱保车辆挽回电话(到期后31-90天)"),
}


def row_group(row: dict) -> str:
    if row["pool_type"] == "lapsed":
        return "win_back"
    if row["days_to_expiry"] is not None and row["days_to_expiry"] < 0:
        return "expired"
    return "urgent" if row["contact_window_days"] == 15 else "upcoming"


GROUP_ORDER = {"expired": 0, "urgent": 1, "upcoming": 1, "win_back": 2}


def sort_key(row: dict) -> tuple:
    return (GROUP_ORDER[row["group"]], row["days_to_expiry"], row["vin"])


def fetch_rows(url: str) -> list[dict]:
    with psycopg.connect(url) as conn:
        cursor = conn.execute(
            """
            select lists.*, staff.staff_name as assignee_name
            from marts.rpt_renewal_due_list_contacts as lists
            left join marts.dim_staff as staff on lists.assigned_staff_id = staff.staff_id
            """
        )
        names = [c.name for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        row["group"] = row_group(row)
        row["pool_type_name"] = POOL_TYPES.get(row["pool_type"], row["pool_type"])
        row["reason_name"] = REASONS.get(row["assignment_reason"], row["assignment_reason"])
        row["call"] = "挽回电话" if row["pool_type"] == "lapsed" else "续保联系"
        if row["assigned_staff_id"] is None:
            row["assignee_name"] = row["assigned_team"]
        row["sheet"] = (
            f"{row['assigned_staff_id']} {row['assignee_name'] or ''}".strip()
            if row["assigned_staff_id"]
            else row["assigned_team"]
        )
    return sorted(rows, key=sort_key)


def write_due_lists(url: str, as_of: date, out_dir: Path) -> dict[str, list[Path]]:
    """Write each store's workbook and CSV, a store per worker process (reports.workers: at 10M rows the cells took
    20 s in one process); return the files of each store."""
    rows = fetch_rows(url)
    by_store: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_store[row["store_code"]].append(row)
    folder = private_folder(out_dir / "due_lists")
    stores = sorted(by_store.items())
    written = in_worker_processes(partial(write_store_files, folder, as_of), stores)
    return {store: files for (store, _), files in zip(stores, written, strict=True)}


def write_store_files(folder: Path, as_of: date, store_rows: tuple[str, list[dict]]) -> list[Path]:
    """A worker's task: one store's workbook and CSV."""
    store, rows = store_rows
    workbook_path = folder / f"应续清单_{file_part(store)}_{as_of}.xlsx"
    with safe_workbook(workbook_path) as book:
        write_workbook(book, rows)
    csv_path = folder / f"应续清单_{file_part(store)}_{as_of}.csv"
    write_csv(
        csv_path,
        [title for _, title, _ in COLUMNS],
        ([row[field] if row[field] is not None else "" for field, _, _ in COLUMNS] for row in rows),
    )
    return [workbook_path, csv_path]


def write_workbook(book: xlsxwriter.Workbook, rows: list[dict]) -> None:
    header = book.add_format({"bold": True, "bg_color": "#1F4E79", "font_color": "white", "border": 1})
    styles = {}
    for group, (colour, _) in LEGEND.items():
        base = {"bg_color": colour} if colour else {}
        styles[group] = {
            "text": book.add_format(base),
            "int": book.add_format(base),
            "date": book.add_format({**base, "num_format": "yyyy-mm-dd"}),
        }
    by_sheet: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_sheet[row["sheet"]].append(row)
    taken: set[str] = set()
    for name, sheet_rows in sorted(by_sheet.items()):
        sheet = book.add_worksheet(sheet_name(name, taken))
        sheet.write_row(0, 0, [title for _, title, _ in COLUMNS], header)
        for index, row in enumerate(sheet_rows, start=1):
            style = styles[row["group"]]
            for col, (field, _, kind) in enumerate(COLUMNS):
                value = row[field]
                if value is None:
                    sheet.write_blank(index, col, None, style[kind])
                elif kind == "date":
                    sheet.write_datetime(index, col, value, style[kind])
                elif kind == "int":
                    sheet.write_number(index, col, value, style[kind])
                else:
                    sheet.write_string(index, col, str(value), style[kind])
        sheet.autofilter(0, 0, len(sheet_rows), len(COLUMNS) - 1)
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, len(COLUMNS) - 1, 14)
    legend = book.add_worksheet("图例")
    legend.write_row(0, 0, ["颜色", "含义"], header)
    for index, (group, (colour, text)) in enumerate(LEGEND.items(), start=1):
        legend.write_string(index, 0, "", styles[group]["text"] if colour else None)
        legend.write_string(index, 1, text)
    legend.write_string(len(LEGEND) + 2, 1, "排序:已到期(宽限期内)在前,其次按剩余天数,最后是脱保挽回电话")
    legend.set_column(0, 0, 10)
    legend.set_column(1, 1, 60)
