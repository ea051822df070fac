"""Commission dispute workbooks (手续费对账争议清单) for finance: one XLSX per insurer and month.

Read from `marts.fct_commission_settlement` (finance only). A summary sheet (汇总) with the month's totals and the
count of each status, then one sheet per status in the reconciliation's first-match order with its policy lines:
expected vs settled commission, withheld, the difference, both rates and the statement; each sheet ends in a total
row that ties to the mart (`rpt_commission_reconciliation_monthly`). Numbers are typed numbers; text from the data is
always written as a string (a cell starting with `=` stays text, never a formula). Files are finance-only (mode 0640)
and appear whole (written through `reports.safe_output`: a temporary name in the same folder, then renamed).

The daily run writes the workbooks of the insurers and months that a newly loaded statement touched; the weekly run
writes every insurer and month with lines to chase (anything but matched and unsettled) in the last
`LOOKBACK_MONTHS` months.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path

import psycopg
import xlsxwriter

from reports.safe_output import file_part, safe_workbook
from reports.workers import in_worker_processes

# the seven statuses in first-match order, with the sheet names finance reads
STATUS_SHEETS = (
    ("not_in_exports", "保单未导出"),
    ("matched", "已对平"),
    ("withheld", "暂扣拒付"),
    ("rate_mismatch", "费率不符"),
    ("amount_mismatch", "金额不符"),
    ("missing", "漏结"),
    ("unsettled", "未到结算期"),
)
COLUMNS = (
    ("policy_no", "保单号", "text"),
    ("txn_no", "批单号", "text"),
    ("insurance_class", "险类", "text"),
    ("store_code", "门店", "text"),
    ("sign_date", "签单日期", "date"),
    ("expected_commission", "应收手续费", "money"),
    ("settled_commission", "实结手续费", "money"),
    ("withheld_commission", "暂扣/拒付", "money"),
    ("difference", "差额(实结-应收)", "money"),
    ("exported_rate", "导出费率", "rate"),
    ("settled_rate", "结算费率", "rate"),
    ("statement_no", "结算单号", "text"),
    ("settlement_month", "结算月份", "date"),
)
MONEY_COLUMNS = [name for name, _, kind in COLUMNS if kind == "money"]
LOOKBACK_MONTHS = 12
TOTAL_LABEL = "合计"


def workbook_path(out_dir: Path, insurer: str, month: date) -> Path:
    return out_dir / "disputes" / f"手续费对账_{file_part(insurer)}_{month:%Y-%m}.xlsx"


def months_of_new_statements(conn: psycopg.Connection, batch_ids: Iterable[int]) -> list[tuple[str, date]]:
    """The insurers and months whose reconciliation rows a statement of these batches settles or withholds."""
    return conn.execute(
        "select distinct settlement.insurer_code, settlement.month "
        "from marts.fct_commission_settlement as settlement "
        "where (settlement.insurer_code, settlement.statement_no) in ("
        "    select insurer_code, statement_no from raw.insurer_settlements where _batch_id = any(%s)) "
        "order by 1, 2",
        (list(batch_ids),),
    ).fetchall()


def months_to_chase(conn: psycopg.Connection, as_of: date) -> list[tuple[str, date]]:
    """Every insurer and month of the lookback with a line that is neither matched nor unsettled."""
    return conn.execute(
        "select distinct insurer_code, month from marts.fct_commission_settlement "
        "where status not in ('matched', 'unsettled') "
        "and month > date_trunc('month', %s::date) - make_interval(months => %s) and month <= %s "
        "order by 1, 2",
        (as_of, LOOKBACK_MONTHS, as_of),
    ).fetchall()


def write_dispute_workbook(conn: psycopg.Connection, insurer: str, month: date, out_dir: Path) -> Path:
    cursor = conn.execute(
        f"select status, {', '.join(name for name, _, _ in COLUMNS)} from marts.fct_commission_settlement "
        "where insurer_code = %s and month = %s order by status, policy_no, txn_no, insurance_class",
        (insurer, month),
    )
    names = [c.name for c in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    path = workbook_path(out_dir, insurer, month)
    with safe_workbook(path) as book:
        write_book(book, insurer, month, rows)
    return path


def write_book(book: xlsxwriter.Workbook, insurer: str, month: date, rows: list[dict]) -> None:
    formats = {
        "header": book.add_format({"bold": True, "bg_color": "#1F4E79", "font_color": "white"}),
        "money": book.add_format({"num_format": "#,##0.00"}),
        "rate": book.add_format({"num_format": "0.00%"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "total": book.add_format({"bold": True, "top": 1}),
        "total_money": book.add_format({"bold": True, "top": 1, "num_format": "#,##0.00"}),
    }
    summary = book.add_worksheet("汇总")
    money_titles = [title for name, title, _ in COLUMNS if name in MONEY_COLUMNS]
    summary.write_row(0, 0, ["状态", "说明", "笔数", *money_titles], formats["header"])
    for index, (status, title) in enumerate(STATUS_SHEETS, start=1):
        lines = [r for r in rows if r["status"] == status]
        summary.write_string(index, 0, status)
        summary.write_string(index, 1, title)
        summary.write_number(index, 2, len(lines))
        for offset, column in enumerate(MONEY_COLUMNS, start=3):
            summary.write_number(index, offset, float(sum((r[column] for r in lines), Decimal(0))), formats["money"])
        write_status_sheet(book, formats, title, lines)
    total_row = len(STATUS_SHEETS) + 1
    summary.write_string(total_row, 0, TOTAL_LABEL, formats["total"])
    summary.write_string(total_row, 1, f"{insurer} {month:%Y-%m}", formats["total"])
    summary.write_number(total_row, 2, len(rows), formats["total"])
    for offset, column in enumerate(MONEY_COLUMNS, start=3):
        summary.write_number(
            total_row, offset, float(sum((r[column] for r in rows), Decimal(0))), formats["total_money"]
        )
    summary.set_column(0, 1, 16)
    summary.set_column(2, 2 + len(MONEY_COLUMNS), 14)
    summary.freeze_panes(1, 0)


def write_status_sheet(book: xlsxwriter.Workbook, formats: dict, title: str, lines: list[dict]) -> None:
    sheet = book.add_worksheet(title)
    sheet.write_row(0, 0, [column_title for _, column_title, _ in COLUMNS], formats["header"])
    for row_index, line in enumerate(lines, start=1):
        for col, (name, _, kind) in enumerate(COLUMNS):
            value = line[name]
            if value is None:
                continue
            if kind == "text":
                sheet.write_string(row_index, col, str(value))
            elif kind == "date":
                sheet.write_datetime(row_index, col, value, formats["date"])
            else:
                sheet.write_number(row_index, col, float(value), formats[kind])
    total_row = len(lines) + 1
    sheet.write_string(total_row, 0, TOTAL_LABEL, formats["total"])
    for col, (name, _, _) in enumerate(COLUMNS):
        if name in MONEY_COLUMNS:
            total = sum((line[name] for line in lines), Decimal(0))
            sheet.write_number(total_row, col, float(total), formats["total_money"])
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, len(COLUMNS) - 1, 14)


def write_dispute_workbooks(url: str, out_dir: Path, months: Iterable[tuple[str, date]]) -> list[Path]:
    """One workbook per insurer and month. Writing the cells is the cost (about 3.5 s for a month of 35k lines), not
    the query, so several months are written by worker processes (reports.workers), each on its own connection."""
    return in_worker_processes(partial(write_month_workbook, url, out_dir), months)


def write_month_workbook(url: str, out_dir: Path, month: tuple[str, date]) -> Path:
    """A worker's task: one workbook, on its own connection."""
    with psycopg.connect(url) as conn:
        return write_dispute_workbook(conn, month[0], month[1], out_dir)


def daily_dispute_workbooks(url: str, out_dir: Path, batch_ids: Iterable[int]) -> list[Path]:
    """The daily run: the workbooks of the insurers and months a newly loaded statement touched."""
    batch_ids = list(batch_ids)
    if not batch_ids:
        return []
    with psycopg.connect(url) as conn:
        months = months_of_new_statements(conn, batch_ids)
    return write_dispute_workbooks(url, out_dir, months)


def weekly_dispute_workbooks(url: str, out_dir: Path, as_of: date) -> list[Path]:
    """The weekly run: every insurer and month of the lookback with lines to chase."""
    with psycopg.connect(url) as conn:
        months = months_to_chase(conn, as_of)
    return write_dispute_workbooks(url, out_dir, months)
