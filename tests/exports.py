"""Small exports in the exact layouts of the source contract (ingestion/feeds.py), for hand-computed tests."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import xlsxwriter

from ingestion.feeds import export_header
from samples.exports import write_csv_export as write_csv

PICC_HEADER = export_header("insurer_picc")
PAIC_HEADER = export_header("insurer_paic")
CPIC_HEADER = export_header("insurer_cpic")


def picc_row(
    policy_no: str,
    vin: str,
    premium: str,
    *,
    kind: str = "商业险",
    detail: str | None = None,
    endorsement: str = "",
    change: str = "",
    sign: str = "2026/3/7",
    start: str = "2026-03-08",
    end: str = "2027-03-07",
    tax: str = "0.00",
    rate: str = "20%",
    staff: str = "E0001",
    store: str = "S01",
    previous: str = "",
) -> list[str]:
    if detail is None:
        detail = "" if kind == "交强险" else f"车损险:{premium}"
    return [
        policy_no,
        endorsement,
        change,
        kind,
        detail,
        sign,
        start,
        end,
        "粤B12345",
        vin,
        "张三",
        "440304199001011234",
        "13800138000",
        premium,
        tax,
        rate,
        staff,
        store,
        previous,
    ]


def write_picc(inbox: Path, name: str, rows: list[list[str]], total: bool = True) -> Path:
    trailer = ["合计", *[""] * 12, "0.00"] if total else None
    return write_csv(inbox / "insurer_picc" / name, PICC_HEADER, rows, "gbk", trailer=trailer)


def paic_row(
    policy_no: str,
    vin: str,
    coverage: str,
    premium: float,
    *,
    business: str = "新保",
    endorsement: str = "",
    sign: date = date(2026, 3, 7),
    start: date = date(2026, 3, 8),
    end: date = date(2027, 3, 7),
    tax: float | None = None,
    rate: float = 0.2,
) -> list:
    product = "机动车交通事故责任强制保险" if coverage == "交强险" else "机动车商业保险"
    return [
        policy_no,
        endorsement,
        business,
        product,
        coverage,
        1_000_000,
        premium,
        tax,
        sign,
        start,
        end,
        "粤B12345",
        vin,
        "EA123",
        "李四",
        "440304199001011234",
        "13900139000",
        rate,
        "E0002",
        "S01",
    ]


def write_paic(
    inbox: Path,
    name: str,
    rows: list[list],
    *,
    merge: tuple[int, int] | None = None,
    formula: tuple[int, str, float | None] | None = None,
) -> Path:
    """PAIC layout: title rows 1-2, header on row 3. merge=(first, last) data-row indexes of a merged 保单号码;
    formula=(data-row index, formula, cached value or None) in 险别保费."""
    path = inbox / "insurer_paic" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("保单明细")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write(0, 0, "中国平安财产保险股份有限公司 车险保单明细")
    sheet.write(1, 0, "导出时间: 2026-11-20 08:00")
    sheet.write_row(2, 0, PAIC_HEADER)
    for index, row in enumerate(rows):
        for col, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(3 + index, col, datetime(value.year, value.month, value.day), dates)
            elif value is not None:
                sheet.write(3 + index, col, value)
    if merge:
        sheet.merge_range(3 + merge[0], 0, 3 + merge[1], 0, rows[merge[0]][0])
    if formula:
        index, text, cached = formula
        if cached is None:
            sheet.write_formula(3 + index, 6, text, None, "")
        else:
            sheet.write_formula(3 + index, 6, text, None, cached)
    book.close()
    if formula and formula[2] is None:  # xlsxwriter always writes a cached <v>; drop it like some exporters do
        _strip_cached_values(path)
    return path


def _strip_cached_values(path: Path) -> None:
    import re
    import zipfile

    with zipfile.ZipFile(path) as source:
        items = {name: source.read(name) for name in source.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    items[sheet] = re.sub(rb"(<f>[^<]*</f>)<v>[^<]*</v>", rb"\1", items[sheet])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in items.items():
            target.writestr(name, data)


def write_roster(inbox: Path, name: str, staff: dict[str, str], hired: str = "2020-01-01") -> Path:
    """A dms_staff snapshot listing `staff` (工号 → store), all in 保险部: rows of other feeds are held until a
    roster lists their staff code (ingestion/staff_hold.py)."""
    header = export_header("dms_staff")
    rows = []
    for code, store in staff.items():
        cells = {"工号": code, "姓名": f"员工{code}", "门店代码": store, "部门": "保险部", "入职日期": hired}
        rows.append([cells.get(h, "") for h in header])
    path = inbox / "dms_staff" / name
    write_csv(path, header, rows, "utf-8")
    return path
