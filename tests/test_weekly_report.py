"""The weekly report as a manager reads it, for three consecutive weeks of a hand-made group, through the real
ingestion, the raw GX gate and the dbt build; then the page rendered in headless Chromium.

Stores S03 深圳宝安本田4S店 and S04 东莞南城比亚迪4S店, June 2026 premium target 30,000.00 each (30 days: 1,000.00
a day, 7,000.00 a week). PICC commercial policies (车损险), premium by the week of the signing day:
            05-25     06-01     06-08     06-15     06-22
  S03    2,000.00  7,000.00  5,000.00  6,000.00  8,000.00     (May has no target: no attainment in 05-25)
  S04           —  7,000.00  7,000.00      0.00  7,000.00     (06-15's 7,700.00 policy is held: its seller TEMP-7
                                                               is in no roster, ingestion/staff_hold.py)
Insurance callbacks (回访) of S03: week 06-08 2 without complaint; 06-15 4 with 1 complaint; 06-22 2 with 1 complaint
(plus a 销售 one with a complaint, not counted, and one with 满意度 9, rejected at load).
Seed lagging_item_owners names E0501 王芳 for S03's premium attainment.
Reports: logical dates 06-15, 06-22 and 06-29 (Mondays) → report weeks 06-08, 06-15 and 06-22.
"""

from __future__ import annotations

import html
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from ingestion.feeds import export_header
from tests.conftest import scalar
from tests.exports import PICC_HEADER, picc_row, write_csv

pytestmark = pytest.mark.slow

AS_OF = date(2026, 6, 29)
GX_AS_OF = date(2026, 6, 17)  # the raw gate's run of the week of 06-15 (no staff-code warning: TEMP-7 is held)
D = Decimal
S03, S04 = "深圳宝安本田4S店", "东莞南城比亚迪4S店"
CODES = ("S03", "S04", "E0501", "E0502", "E0601")
NAMES = (S03, S04, "王芳", "李娜", "陈刚")


def vin(n: int) -> str:
    return f"LSVWEEK{n:010d}"


def policy(no: str, v: int, premium: str, sign: str, staff: str, store: str) -> list[str]:
    year, month, day = sign.split("-")
    return picc_row(
        no, vin(v), premium, sign=sign, start=sign, end=f"{int(year) + 1}-{month}-{day}", staff=staff, store=store
    )


def build_inbox(inbox: Path) -> None:
    write_csv(
        inbox / "insurer_picc" / "20260629_picc.csv",
        PICC_HEADER,
        [
            policy("W1", 1, "2000.00", "2026-05-26", "E0501", "S03"),
            policy("W2", 2, "7000.00", "2026-06-02", "E0501", "S03"),
            policy("W3", 3, "5000.00", "2026-06-09", "E0502", "S03"),
            policy("W4", 4, "6000.00", "2026-06-16", "E0501", "S03"),
            policy("W5", 5, "8000.00", "2026-06-23", "E0502", "S03"),
            policy("X1", 11, "7000.00", "2026-06-02", "E0601", "S04"),
            policy("X2", 12, "7000.00", "2026-06-09", "E0601", "S04"),
            policy("X3", 13, "7700.00", "2026-06-16", "TEMP-7", "S04"),  # in no roster: held before dbt
            policy("X4", 14, "7000.00", "2026-06-23", "E0601", "S04"),
        ],
        "gbk",
    )
    staff = export_header("dms_staff")
    people = [("E0501", "王芳", "S03"), ("E0502", "李娜", "S03"), ("E0601", "陈刚", "S04")]
    write_csv(
        inbox / "dms_staff" / "20260601_staff.csv",
        staff,
        [
            [
                {"工号": e, "姓名": n, "门店代码": s, "部门": "保险部", "入职日期": "2020-01-01"}.get(h, "")
                for h in staff
            ]
            for e, n, s in people
        ],
        "utf-8",
    )
    write_csv(
        inbox / "dms_surveys" / "20260624_surveys.csv",
        export_header("dms_surveys"),
        [
            ["V1", "2026-06-10", "S03", "E0501", "保险", "5", "否"],
            ["V2", "2026-06-11", "S03", "E0502", "保险", "4", "否"],
            ["V3", "2026-06-16", "S03", "E0501", "保险", "2", "是"],
            ["V4", "2026-06-17", "S03", "E0501", "保险", "5", "否"],
            ["V5", "2026-06-18", "S03", "E0502", "保险", "4", "否"],
            ["V6", "2026-06-19", "S03", "E0502", "保险", "5", "否"],
            ["V7", "2026-06-23", "S03", "E0501", "保险", "5", "否"],
            ["V8", "2026-06-24", "S03", "E0502", "保险", "1", "是"],
            ["V9", "2026-06-24", "S03", "E0502", "销售", "1", "是"],  # not an insurance callback
            ["V10", "2026-06-24", "S03", "E0501", "保险", "9", "否"],  # rejected: 满意度 must be between 1 and 5
        ],
        "utf-8",
    )
    ro = export_header("aftersales_ro", with_optional=True)
    write_csv(
        inbox / "aftersales_ro" / "20260617_ro.csv",
        ro,
        [
            ["RO1", "S03", vin(1), "", "2026-06-16", "2026-06-16", "保养", "100.00", "200.00", "300.00", "E0501",
             "N", "", "", "待定", ""],  # 保险到期日 待定 is not a date: a load warning of a file exported 06-17
        ],
        "gbk",
    )  # fmt: skip
    path = inbox / "finance_targets" / "20260601_targets.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("目标")
    sheet.write_row(0, 0, export_header("finance_targets"))
    sheet.write_row(1, 0, ["2026-06", "S03", None, 30000, 10, 0.7, 0.75, 0.8])
    sheet.write_row(2, 0, ["2026-06", "S04", None, 30000, 10, 0.7, 0.75, 0.8])
    book.close()


def raw_gate(url: str, settings) -> None:
    from expectations.runner import run_raw_checkpoint

    run_raw_checkpoint(url, "weekly-gate", GX_AS_OF, None)


@pytest.fixture(scope="module")
def weeks(scenario_warehouse):
    """The warehouse of the scenario and the three weekly reports (week_start → paths and page text)."""
    from reports.weekly import build_weekly_report

    warehouse = scenario_warehouse("weekly_report_marts", build_inbox, AS_OF, after_ingest=raw_gate)
    url, home, ingested = warehouse.url, warehouse.home, warehouse.ingested
    reports = {}
    for logical in (date(2026, 6, 15), date(2026, 6, 22), date(2026, 6, 29)):
        report = build_weekly_report(url, logical, home / "reports")
        report["page"] = Path(report["html"]).read_text(encoding="utf-8")
        reports[report["week_start"]] = report
    return {"url": url, "ingested": ingested, "reports": reports}


def section(page: str, key: str) -> str:
    found = re.search(rf'<section id="{key}">(.*?)</section>', page, re.S)
    assert found, f"no section {key}"
    return found.group(1)


def table_rows(html: str) -> list[list[str]]:
    """The cells of each body row, as text."""
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
        if "<td" in row
    ]


def test_the_scenario_loaded_with_one_rejected_callback(weeks):
    feeds = weeks["ingested"]["feeds"]
    # 9 policies, X3 held (its seller TEMP-7 is in no roster)
    assert (feeds["insurer_picc"]["rows_loaded"], feeds["insurer_picc"]["rows_rejected"]) == (8, 1)
    assert (feeds["dms_surveys"]["rows_loaded"], feeds["dms_surveys"]["rows_rejected"]) == (9, 1)


def test_names_not_codes(weeks):
    for week, report in weeks["reports"].items():
        page = report["page"]
        assert all(name in page for name in NAMES), week
        assert not [code for code in CODES if code in page], week
        book = openpyxl.load_workbook(report["workbook"], read_only=True)
        cells = {str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v is not None}
        assert S03 in cells and not any(code in value for value in cells for code in CODES), week
        assert "unknown" not in page


def test_week_on_week_values_by_hand(weeks):
    url = weeks["url"]
    rows = {r[0]: r for r in table_rows(section(weeks["reports"]["2026-06-15"]["page"], "week_on_week"))}
    # columns: 门店 | 本周保费 上周保费 保费环比 | 本周达成率 上周达成率 达成率环比 | 续保率 ×3 | 投诉率 ×3
    # S03: 6,000.00 this week, 5,000.00 last week → +1,000.00; attainment 6,000 / 7,000 = 0.8571 against
    # 5,000 / 7,000 = 0.7143 → +0.1428 = +14.3 points; complaints 1 of 4 callbacks = 25.0% against 0 of 2 = 0.0%
    assert rows[S03][1:10] == ["6,000.00", "5,000.00", "+1,000.00", "85.7%", "71.4%", "+14.3个百分点", "—", "—", "—"]
    assert rows[S03][10:] == ["25.0%", "0.0%", "+25.0个百分点"]
    # S04: X3 (7,700.00) is held, so 0.00 against 7,000.00 → -7,000.00; 0 / 7,000 = 0.0000 against 1.0000
    # → -100.0 points; no callbacks
    assert rows[S04][1:7] == ["0.00", "7,000.00", "-7,000.00", "0.0%", "100.0%", "-100.0个百分点"]
    # the group: 6,000 + 0 = 6,000.00 against 5,000 + 7,000 = 12,000.00 → -6,000.00;
    # 6,000 / 14,000 = 0.4286 against 12,000 / 14,000 = 0.8571 → -0.4285 = -42.85 points, shown half up -42.9
    assert rows["集团"][1:7] == ["6,000.00", "12,000.00", "-6,000.00", "42.9%", "85.7%", "-42.9个百分点"]
    # week 06-22: S03 8,000.00 against 6,000.00 → +2,000.00; 8,000 / 7,000 = 1.1429 against 0.8571 → +28.6 points;
    # complaints 1 of 2 = 50.0% against 25.0% → +25.0 points
    later = {r[0]: r for r in table_rows(section(weeks["reports"]["2026-06-22"]["page"], "week_on_week"))}
    assert later[S03][1:7] == ["8,000.00", "6,000.00", "+2,000.00", "114.3%", "85.7%", "+28.6个百分点"]
    assert later[S03][10:] == ["50.0%", "25.0%", "+25.0个百分点"]
    # week 06-08: S03 5,000.00 against 7,000.00 → −2,000.00; 0.7143 against 1.0000 → −28.6 points
    earlier = {r[0]: r for r in table_rows(section(weeks["reports"]["2026-06-08"]["page"], "week_on_week"))}
    assert earlier[S03][1:7] == ["5,000.00", "7,000.00", "-2,000.00", "71.4%", "100.0%", "-28.6个百分点"]
    # the complaint rate comes from the mart (computed once in SQL): 1 / 4 = 0.2500
    assert scalar(
        url, "select complaint_rate from marts.rpt_complaint_rate_weekly where store_code = 'S03' and week_start = %s",
        (date(2026, 6, 15),),
    ) == D("0.2500")  # fmt: skip


def test_five_week_trend_per_store(weeks):
    trend = table_rows(section(weeks["reports"]["2026-06-22"]["page"], "trend"))
    # the five Mondays up to 06-22 for S03: 05-25 (2,000.00, no May target) … 06-22 (8,000.00 of 7,000.00)
    s03 = [(r[1], r[2], r[4]) for r in trend if r[0] == S03]
    assert s03 == [
        ("2026-05-25", "2,000.00", "—"),
        ("2026-06-01", "7,000.00", "100.0%"),
        ("2026-06-08", "5,000.00", "71.4%"),
        ("2026-06-15", "6,000.00", "85.7%"),
        ("2026-06-22", "8,000.00", "114.3%"),
    ]
    # S04 signed nothing in 05-25: 0.00 (the daily mart has every store's days); then 7,000 / 7,000 / 0 (X3 held) /
    # 7,000
    assert [r[2] for r in trend if r[0] == S04] == ["0.00", "7,000.00", "7,000.00", "0.00", "7,000.00"]
    for chart in ("premium_by_store", "renewal_by_store", "attainment_trend", "churn_reasons", "staff_ranking"):
        assert f'<figure id="chart-{chart}"><svg' in weeks["reports"]["2026-06-22"]["page"]


def test_totals_match_the_mart_to_the_cent(weeks):
    report = weeks["reports"]["2026-06-15"]
    stores = list(openpyxl.load_workbook(report["workbook"])["门店保费合计"].iter_rows(values_only=True))
    # 6,000.00 + 0.00 (S04's X3 is held) = 6,000.00, the group row of rpt_weekly_kpis
    group = scalar(
        weeks["url"], "select premium from marts.rpt_weekly_kpis where store_code = 'ALL' and week_start = '2026-06-15'"
    )
    assert stores[-1][:2] == ("合计", 6000.0) and group == D("6000.00")
    assert table_rows(section(report["page"], "stores_premium"))[-1][:2] == ["合计", "6,000.00"]


def test_data_quality_section_lists_the_weeks_warnings(weeks):
    reports = weeks["reports"]
    # week 06-08 (runs of 06-08 … 06-15): nothing was delivered or checked in it
    assert "本周运行无数据质量警告" in section(reports["2026-06-08"]["page"], "quality")
    # week 06-15: the repair orders exported 06-17 loaded RO1 with 保险到期日 待定 left empty (line 2 of the file:
    # the header is line 1); no GX warning about staff code TEMP-7 any more: its row is held before the gate
    quality = section(reports["2026-06-15"]["page"], "quality")
    rows = table_rows(quality)
    assert not any("TEMP-7" in " ".join(r) for r in rows), rows
    assert rows[-1][:2] == ["数据加载", "aftersales_ro"] and rows[-1][4] == "20260617_ro.csv 第2行: 待定"
    assert "无数据" not in quality
    # week 06-22: the callbacks exported 06-24 had a row rejected (满意度 9), and the policies exported 06-29 had
    # X3 held for TEMP-7 (its 8th data row: line 9)
    rows = table_rows(section(reports["2026-06-22"]["page"], "quality"))
    assert any(r[0] == "数据加载(拒收行)" and r[1] == "dms_surveys" and "满意度" in r[2] for r in rows), rows
    held = "staff code 'TEMP-7' is not in any staff roster (held: loads when a roster lists it)"
    row = ["数据加载(暂扣待花名册)", "insurer_picc", held, "—", "20260629_picc.csv 第9行"]  # no column: —
    assert row in [[html.unescape(cell) for cell in r] for r in rows], rows


def test_lagging_item_ledger_new_open_resolved_with_the_owners_name(weeks):
    # S03's attainment: 06-08 0.7143 < 1 → new (opened 06-08, due two weeks later 06-22, 1 week open);
    # 06-15 0.8571 → still open (2 weeks); 06-22 1.1429 → resolved (opened 06-08, (06-22 − 06-08) / 7 = 2 weeks)
    expected = {
        "2026-06-08": ["71.4%", "100.0%", "新增", "王芳 保险部", "2026-06-08", "2026-06-22", "1"],
        "2026-06-15": ["85.7%", "100.0%", "整改中", "王芳 保险部", "2026-06-08", "2026-06-22", "2"],
        "2026-06-22": ["114.3%", "100.0%", "已解决", "王芳 保险部", "2026-06-08", "2026-06-22", "2"],
    }
    for week, cells in expected.items():
        ledger = table_rows(section(weeks["reports"][week]["page"], "ledger"))
        [row] = [r for r in ledger if r[:2] == [S03, "保费达成率"]]
        assert row[2:] == cells, week
    # S04: 06-08 7,000 / 7,000 = 1.0 is not under 1 (no item); 06-15 0 / 7,000 = 0.0 (X3 held) → new (opened 06-15,
    # due 06-29, 1 week; no seed lagging_item_owners row: the metric's department 保险部); 06-22 1.0 → resolved
    # ((06-22 − 06-15) / 7 = 1 week)
    s04 = {
        week: [
            r[2:] for r in table_rows(section(weeks["reports"][week]["page"], "ledger")) if r[:2] == [S04, "保费达成率"]
        ]
        for week in expected
    }
    assert s04 == {
        "2026-06-08": [],
        "2026-06-15": [["0.0%", "100.0%", "新增", "保险部", "2026-06-15", "2026-06-29", "1"]],
        "2026-06-22": [["100.0%", "100.0%", "已解决", "保险部", "2026-06-15", "2026-06-29", "1"]],
    }


def test_report_renders_in_chromium_as_a4_pdf_and_full_height_png(weeks):
    from reports.render import chromium, dump_dom, render

    if chromium() is None:
        pytest.skip("Chromium is not installed (apt-get install chromium fonts-noto-cjk); .ci/run installs it")
    page = Path(weeks["reports"]["2026-06-22"]["html"])
    png, pdf = render(page)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    dom = dump_dom(page)
    full = int(re.search(r'data-height="(\d+)"', dom).group(1))
    assert width == 1280 and height == full > 2600  # the whole page, not the first screen
    document = pdf.read_bytes()
    assert document[:5] == b"%PDF-"
    sizes = {
        tuple(round(float(n)) for n in box) for box in re.findall(rb"/MediaBox\s*\[0 0 ([\d.]+) ([\d.]+)\]", document)
    }
    assert sizes == {(595, 842)} or sizes == {(596, 843)}  # A4: 210 × 297 mm = 595.3 × 841.9 pt
    assert not re.search(r"Traceback|Error|错误|NaN|undefined", dom)
