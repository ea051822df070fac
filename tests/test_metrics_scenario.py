"""A hand-made dealer group, in the real export layouts, through the real ingestion and dbt build.

36 policies, 6 sales orders, 6 repair orders, 5 claims, 4 leads, surveys, follow-ups, staff and targets.
Every expected figure below is computed by hand from the rules catalogue (dbt_project/docs) in the comments next to it.
As-of date 2026-07-15 unless a test says otherwise.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import xlsxwriter

from expectations.runner import run_mart_checkpoint
from ingestion.feeds import export_header
from pipeline import steps
from pipeline.published import published_marts, published_models, read_manifest
from pipeline.settings import Settings
from tests import exports
from tests.conftest import query, scalar
from tests.exports import CPIC_HEADER, PAIC_HEADER, PICC_HEADER, write_csv

AS_OF = date(2026, 7, 15)
D = Decimal


def vin(n: int) -> str:
    return f"LSVTEST{n:010d}"


@dataclass
class Policy:
    insurer: str
    policy_no: str
    vehicle: int
    store: str
    staff: str
    sign: date
    start: date
    end: date
    lines: dict[str, str]  # coverage → premium (yuan, text as exported)
    rate: str = "0.20"
    tax: str = "0.00"
    business: str = "新保"
    endorsements: list[tuple[str, str, date, dict[str, str]]] = field(default_factory=list)  # no, kind, sign, lines


PICC_NAME = {"VD": "车损险", "TPL": "三者险(100万)", "SEAT": "车上人员险(司机)"}
PAIC_NAME = {"CTP": "交强险", "VD": "机动车损失保险", "TPL": "第三者责任保险"}
CPIC_COLUMN = {"CTP": 3, "VD": 4, "TPL": 5, "SEAT": 6, "RIDER": 7}


def term(sign: date, start: date | None = None) -> tuple[date, date]:
    """Cover from the day after signing (or `start`) to the day before the anniversary."""
    begin = start or sign + timedelta(days=1)
    return begin, date(begin.year + 1, begin.month, begin.day) - timedelta(days=1)


def pair(
    insurer: str,
    number: str,
    vehicle: int,
    store: str,
    staff: str,
    sign: date,
    commercial: dict[str, str],
    rate: str = "0.20",
    business: str = "新保",
    start: date | None = None,
) -> list[Policy]:
    """Compulsory + commercial policies of one term at PICC or PAIC (separate policy numbers)."""
    begin, end = term(sign, start)
    policies = [
        Policy(
            insurer,
            f"{number}Z",
            vehicle,
            store,
            staff,
            sign,
            begin,
            end,
            {"CTP": "950.00"},
            "0.04",
            "360.00",
            business,
        )
    ]
    if commercial:
        policies.append(
            Policy(insurer, f"{number}A", vehicle, store, staff, sign, begin, end, commercial, rate, business=business)
        )
    return policies


def cpic(
    number: str,
    vehicle: int,
    store: str,
    staff: str,
    sign: date,
    lines: dict[str, str],
    rate: str = "0.20",
    business: str = "NEW",
) -> Policy:
    begin, end = term(sign)
    return Policy("CPIC", number, vehicle, store, staff, sign, begin, end, lines, rate, "360.00", business)


# ---- the policies ---------------------------------------------------------------------------------------
V06_COMMERCIAL = Policy(
    "PICC",
    "PV06A",
    6,
    "S01",
    "E0001",
    date(2025, 5, 28),
    date(2025, 5, 29),
    date(2026, 5, 28),
    {"VD": "2000.00", "TPL": "1000.00"},
    "0.20",
    endorsements=[("PV06C1", "退保", date(2025, 9, 1), {"VD": "-1333.33", "TPL": "-666.67"})],
)
POLICIES: list[Policy] = [
    # S01, due May 2026
    *pair("PICC", "PV01", 1, "S01", "E0001", date(2025, 5, 5), {"VD": "3200.00", "TPL": "1000.00"}),
    *pair(
        "PICC",
        "PV01R",
        1,
        "S01",
        "E0001",
        date(2026, 4, 20),
        {"VD": "3500.00", "TPL": "1000.00"},
        start=date(2026, 5, 6),
    ),  # renews V01: commercial 4,500
    *pair("PAIC", "PV02", 2, "S01", "E0002", date(2025, 5, 10), {"VD": "2100.00", "TPL": "1000.00"}),
    cpic(
        "CV02R",
        2,
        "S01",
        "E0001",
        date(2026, 5, 8),
        {"CTP": "950.00", "VD": "2000.00", "TPL": "1000.00"},
        business="REN",
    ),  # renews V02 at another insurer
    cpic("CV03", 3, "S01", "E0002", date(2025, 5, 15), {"CTP": "950.00", "VD": "2500.00", "TPL": "1000.00"}),
    *pair("PICC", "PV04", 4, "S01", "E0002", date(2025, 5, 20), {"VD": "2600.00", "TPL": "900.00"}),
    *pair("PICC", "PV05", 5, "S01", "E0001", date(2025, 5, 25), {}),  # compulsory only
    *pair("PICC", "PV05R", 5, "S01", "E0001", date(2026, 5, 20), {}),  # renews V05, compulsory only
    Policy(
        "PICC",
        "PV06Z",
        6,
        "S01",
        "E0001",
        date(2025, 5, 28),
        date(2025, 5, 29),
        date(2026, 5, 28),
        {"CTP": "950.00"},
        "0.04",
        "360.00",
    ),
    V06_COMMERCIAL,  # cancelled: no opportunity
    # S02, due June 2026
    *pair("PAIC", "PV07", 7, "S02", "E0003", date(2025, 6, 10), {"VD": "2800.00", "TPL": "1000.00"}),
    *pair(
        "PAIC",
        "PV07R",
        7,
        "S02",
        "E0003",
        date(2026, 7, 8),
        {"VD": "2900.00", "TPL": "1000.00"},
        business="续保",
        start=date(2026, 7, 8),
    ),  # due + 28: renewed
    *pair("PICC", "PV08", 8, "S02", "E0003", date(2025, 6, 20), {"VD": "2000.00", "TPL": "1000.00"}),
    cpic("CV09", 9, "S02", "E0003", date(2025, 6, 28), {"CTP": "950.00", "VD": "1800.00", "TPL": "1000.00"}),
    *pair("PICC", "PV10", 10, "S02", "E0003", date(2025, 6, 1), {"VD": "2000.00", "TPL": "1000.00"}),
    *pair(
        "PICC",
        "PV10E",
        10,
        "S02",
        "E0003",
        date(2026, 2, 28),
        {"VD": "2000.00", "TPL": "1000.00"},
        start=date(2026, 6, 2),
    ),  # due − 93: not a renewal
    # S01 new cars and others
    *pair("PICC", "PV11", 11, "S01", "E0001", date(2026, 6, 6), {"VD": "3000.00", "TPL": "1000.00"}),
    *pair("PICC", "PV12", 12, "S01", "E0001", date(2026, 7, 12), {"VD": "3000.00", "TPL": "1000.00"}),
    cpic(
        "CV14",
        14,
        "S01",
        "E0001",
        date(2026, 5, 25),
        {"CTP": "950.00", "VD": "3000.00", "TPL": "1200.00", "SEAT": "100.00"},
        rate="0.22",
    ),
    *pair("PICC", "PV20", 20, "S01", "E0001", date(2026, 7, 10), {"TPL": "1000.00"}),
    *pair("PICC", "PV22", 22, "S01", "E0001", date(2026, 4, 1), {}),
    # due within 60 days of the as-of date: on the due list
    *pair("PICC", "PV23", 23, "S01", "E0002", date(2025, 8, 10), {"VD": "2000.00", "TPL": "1000.00"}),
    cpic("CV24", 24, "S01", "E0001", date(2025, 9, 1), {"CTP": "950.00", "VD": "2000.00", "TPL": "1000.00"}),
]


# V01's renewal is endorsed in June: +600.00 on 车损险
next(p for p in POLICIES if p.policy_no == "PV01RA").endorsements.append(
    ("PV01RE1", "批改", date(2026, 6, 15), {"VD": "600.00"})
)


def picc_rows(policies: list[Policy]) -> list[list[str]]:
    rows = []
    for p in policies:
        compulsory = "CTP" in p.lines
        detail = "" if compulsory else ";".join(f"{PICC_NAME[c]}:{v}" for c, v in p.lines.items())
        total = sum(D(v) for v in p.lines.values())
        base = [
            p.sign.strftime("%Y/%-m/%-d"),
            p.start.isoformat(),
            p.end.isoformat(),
            "粤B 12345",
            f" {vin(p.vehicle).lower()} ",
            "张三",
            "440304199001011234",
            "13800138000",
        ]
        rows.append(
            [
                p.policy_no,
                "",
                "",
                "交强险" if compulsory else "商业险",
                detail,
                *base,
                f"{total:,.2f}",
                p.tax,
                f"{round(D(p.rate) * 100)}%",
                p.staff,
                p.store,
                "",
            ]
        )
        for number, kind, sign, lines in p.endorsements:
            detail = ";".join(f"{PICC_NAME[c]}:{v}" for c, v in lines.items())
            rows.append(
                [
                    p.policy_no,
                    number,
                    kind,
                    "商业险",
                    detail,
                    sign.isoformat(),
                    *base[1:],
                    f"{sum(D(v) for v in lines.values()):.2f}",
                    "0.00",
                    p.rate,
                    p.staff,
                    p.store,
                    "",
                ]
            )
    return rows


def write_paic(path: Path, policies: list[Policy]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("保单明细")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write(0, 0, "平安产险 保单明细")
    sheet.write(1, 0, "导出时间: 2026-07-15 08:00")
    sheet.write_row(2, 0, PAIC_HEADER)
    row = 3
    for p in policies:
        for index, (code, premium) in enumerate(p.lines.items()):
            product = "机动车交通事故责任强制保险" if code == "CTP" else "机动车商业保险"
            sheet.write_row(row, 0, [p.policy_no, "", p.business, product, PAIC_NAME[code], 1_000_000, float(premium)])
            if code == "CTP" and index == 0:
                sheet.write(row, 7, float(p.tax))
            for col, day in ((8, p.sign), (9, p.start), (10, p.end)):
                sheet.write_datetime(row, col, datetime_of(day), dates)
            sheet.write_row(
                row,
                11,
                ["粤B12345", vin(p.vehicle), "EA1", "李四", "4403", "13900139000", float(p.rate), p.staff, p.store],
            )
            row += 1
    book.close()


def datetime_of(day: date):
    from datetime import datetime

    return datetime(day.year, day.month, day.day)


def cpic_rows(policies: list[Policy]) -> list[list[str]]:
    rows = []
    for p in policies:
        wide = [""] * 5
        for code, premium in p.lines.items():
            wide[CPIC_COLUMN[code] - 3] = premium
        rows.append(
            [
                p.policy_no,
                "",
                p.business,
                *wide,
                p.tax,
                p.rate,
                f"{p.sign:%Y%m%d}",
                f"{p.start:%Y%m%d}",
                f"{p.end:%Y%m%d}",
                "粤B12345",
                vin(p.vehicle),
                "王五",
                "4403",
                "13700137000",
                p.staff,
                p.store,
            ]
        )
    return rows


def write_xlsx(path: Path, sheet_name: str, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet(sheet_name)
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, header)
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values):
            if isinstance(value, date):
                sheet.write_datetime(r, c, datetime_of(value), stamp)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()


def build_inbox(inbox: Path) -> None:
    by = lambda insurer, year: [p for p in POLICIES if p.insurer == insurer and p.sign.year == year]  # noqa: E731
    for year, name in ((2025, "20251231_picc.csv"), (2026, "20260715_picc.csv")):
        write_csv(
            inbox / "insurer_picc" / name,
            PICC_HEADER,
            picc_rows(by("PICC", year)),
            "gbk",
            trailer=["合计", *[""] * 12, "0.00"],
        )
    write_paic(inbox / "insurer_paic" / "20251231_paic.xlsx", by("PAIC", 2025))
    write_paic(inbox / "insurer_paic" / "20260715_paic.xlsx", by("PAIC", 2026))
    for year, name in ((2025, "20251231_cpic.csv"), (2026, "20260715_cpic.csv")):
        write_csv(inbox / "insurer_cpic" / name, CPIC_HEADER, cpic_rows(by("CPIC", year)), "utf-8-sig", ";")

    claims_header = export_header("insurer_claims")

    def claim(no, policy, insurer, v, reported, status, paid=None):
        return [no, policy, insurer, "", vin(v), reported, reported, "追尾", 5000.0, paid, status, "S01"]

    june_claims = [
        claim("CL1", "PV01RA", "PICC", 1, date(2026, 6, 2), "已报案"),  # repaired: RO carries CL1
        claim("CL2", "CV02R", "CPIC", 2, date(2026, 6, 10), "已定损"),  # repaired: 钣喷 RO at report + 30
        claim("CL3", "PV11A", "PICC", 11, date(2026, 6, 10), "已定损"),  # RO at report + 31: elsewhere
        claim("CL4", "CV14", "CPIC", 14, date(2026, 6, 25), "注销"),  # withdrawn: not counted
        claim("CL5", "PV05RZ", "PICC", 5, date(2026, 6, 28), "已报案"),  # only a 保养 RO: elsewhere
    ]
    write_xlsx(inbox / "insurer_claims" / "20260630_claims.xlsx", "理赔清单", claims_header, june_claims)
    july = [claim("CL1", "PV01RA", "PICC", 1, date(2026, 6, 2), "已结案", 4650.0)]  # the same claim, newer status
    write_xlsx(inbox / "insurer_claims" / "20260715_claims.xlsx", "理赔清单", claims_header, july)

    sales_header = export_header("dms_sales")

    def sale(no, v, customer, ordered, delivered, status):
        return [
            no,
            "S01",
            "E0101",
            customer,
            vin(v),
            "大众",
            "帕萨特",
            "豪华版",
            "否",
            "209900.00",
            "199000.00",
            "全款",
            ordered,
            delivered,
            status,
        ]

    write_csv(
        inbox / "dms_sales" / "20260531_sales.csv",
        sales_header,
        [
            sale("SO11", 11, "C11", "2026-05-20", "", "已订车"),  # re-exported in June as delivered
        ],
        "utf-8",
    )
    write_csv(
        inbox / "dms_sales" / "20260715_sales.csv",
        sales_header,
        [
            sale("SO11", 11, "C11", "2026-05-20", "2026-06-05", "已交车"),  # PICC signed 06-06: insured
            sale("SO12", 12, "C12", "2026-05-25", "2026-06-10", "已交车"),  # signed 07-12 (+32): not insured
            sale("SO13", 13, "C13", "2026-05-28", "2026-06-15", "已交车"),  # never insured here
            sale("SO14", 14, "C14", "2026-06-01", "2026-06-20", "已交车"),  # CPIC signed 05-25 (−26): insured
            sale("SO15", 15, "C15", "2026-06-25", "", "已订车"),  # not delivered
            sale("SO16", 16, "C16", "2026-06-26", "", "已退订"),  # cancelled order
            # renewal operations: never insured here (sold_not_insured), due 2026-06-19, 26 days ago: in grace
            sale("SO17", 17, "C13", "2025-06-01", "2025-06-20", "已交车"),
            # first service due at delivery + 90: V18 on the as-of date itself; V19 had its 首保 (RO9)
            sale("SO18", 18, "C13", "2026-04-01", "2026-04-16", "已交车"),
            sale("SO19", 19, "C13", "2026-04-01", "2026-04-15", "已交车"),
        ],
        "utf-8",
    )

    customers_header = export_header("dms_customers")
    write_csv(
        inbox / "dms_customers" / "20260715_customers.csv",
        customers_header,
        [customer_row(n) for n in (11, 12, 13, 14, 15, 16)],
        "utf-8",
    )

    staff_header = export_header("dms_staff")
    write_csv(
        inbox / "dms_staff" / "20260715_staff.csv",
        staff_header,
        [
            ["E0001", "王伟", "S01", "保险部", "续保专员", "2020-01-01", ""],
            ["E0002", "李娜", "S01", "保险部", "续保专员", "2019-03-01", "2026-06-30"],
            ["E0003", "张敏", "S02", "保险部", "续保专员", "2021-01-01", ""],
            ["E0101", "刘强", "S01", "销售部", "销售顾问", "2020-01-01", ""],
            ["E0201", "陈静", "S01", "售后部", "服务顾问", "2020-01-01", ""],
            ["E0301", "杨洋", "S01", "洗车部", "洗车主管", "2020-01-01", ""],
            ["E0302", "赵丽", "S01", "美容部", "美容技师", "2020-01-01", ""],
            ["E0303", "黄勇", "S01", "快修部", "快修技师", "2020-01-01", ""],
        ],
        "utf-8",
    )

    followup_header = export_header("dms_followups")
    write_csv(
        inbox / "dms_followups" / "20260715_followups.csv",
        followup_header,
        [
            ["F1", vin(3), "CV03", "2026-04-01", "电话", "E0002", "有意向", "", ""],
            ["F2", vin(3), "CV03", "2026-04-20", "电话", "E0002", "已报价", "", "4300.00"],
            ["F3", vin(3), "CV03", "2026-05-20", "电话", "E0001", "战败", "价格", ""],  # last 战败: V03 lost, 价格
            ["F4", vin(9), "CV09", "2026-06-25", "企业微信", "E0003", "战败", "服务", ""],  # V09 still pending
            ["F5", vin(1), "PV01A", "2026-03-15", "电话", "E0001", "有意向", "", ""],
        ],
        "utf-8",
    )

    leads_header = export_header("dms_leads")
    write_csv(
        inbox / "dms_leads" / "20260715_leads.csv",
        leads_header,
        [
            ["L1", "2026-06-01", "S01", "洗车部", "E0301", vin(20), "", "商业险", ""],  # PV20 signed +39: converted
            ["L2", "2026-06-03", "S01", "洗车部", "E0301", vin(21), "", "商业险", ""],  # never insured
            ["L3", "2026-06-05", "S01", "美容部", "E0302", "", "C11", "交强险+商业险", ""],  # C11's V11 signed 06-06
            ["L4", "2026-06-10", "S01", "快修部", "E0303", vin(22), "", "商业险", ""],  # signed before the lead
        ],
        "utf-8",
    )

    survey_header = export_header("dms_surveys")
    write_csv(
        inbox / "dms_surveys" / "20260715_surveys.csv",
        survey_header,
        [
            ["V1", "2026-05-10", "S01", "E0001", "保险", "5", "否"],
            ["V2", "2026-05-22", "S01", "E0001", "保险", "4", "否"],
            ["V3", "2026-05-27", "S01", "E0001", "保险", "4", "否"],
            ["V4", "2026-05-28", "S01", "E0001", "销售", "1", "是"],  # not an insurance survey
        ],
        "utf-8",
    )

    ro_header = export_header("aftersales_ro")

    def ro(no, v, opened, settled, kind, claim_no=""):
        return [
            no,
            "S01",
            vin(v),
            "",
            opened,
            settled,
            kind,
            "500.00",
            "1500.00",
            "2000.00",
            "E0201",
            "Y" if claim_no else "N",
            "PICC" if claim_no else "",
            claim_no,
        ]

    write_csv(
        inbox / "aftersales_ro" / "20260630_ro.csv",
        ro_header,
        [
            ro("RO1", 1, "2026-06-03", "", "事故维修", "CL1"),  # open at the June export
            ro("RO5", 20, "2026-06-01", "2026-06-01", "洗车"),
            ro("RO4", 5, "2026-06-29", "2026-06-29", "保养"),
        ],
        "gbk",
    )
    # the July export is of the later DMS version: 保险到期日 and 承保公司 at the end (the June one has neither)
    write_csv(
        inbox / "aftersales_ro" / "20260715_ro.csv",
        export_header("aftersales_ro", with_optional=True),
        [
            [*ro("RO1", 1, "2026-06-03", "2026-06-12", "事故维修", "CL1"), "", ""],  # settled in the July export
            [*ro("RO2", 2, "2026-07-10", "", "钣喷"), "", ""],  # CL2 reported 06-10: + 30 days, inclusive
            [
                *ro("RO3", 11, "2026-07-11", "", "事故维修"),
                "待定",
                "平安",
            ],  # CL3 + 31 days; 待定 is not a date (line 4)
            [*ro("RO6", 40, "2026-07-05", "2026-07-05", "保养"), "2025/8/1", "大地保险"],  # insured elsewhere
            [*ro("RO9", 19, "2026-07-01", "2026-07-01", "首保"), "", ""],
        ],
        "gbk",
    )

    targets_header = export_header("finance_targets")
    write_xlsx(
        inbox / "finance_targets" / "20260715_targets.xlsx",
        "目标",
        targets_header,
        [
            ["2026-05", "S01", None, 50000, 10, 0.7, 0.75, 0.8],
            ["2026-05", "S01", "E0001", 8000, 4, 0.7, 0.75, 0.8],
            ["2026-06", "S01", None, 50000, 10, 0.7, 0.75, 0.8],
            ["2026-06", "S02", None, 30000, 6, 0.7, 0.75, 0.8],
        ],
    )


def customer_row(n: int, city: str = "深圳") -> list[str]:
    """Customer C<n> as the DMS customer export lists it."""
    phone, id_number = f"1380013{n:04d}", "440304198501011234"
    return [f"C{n}", "陈明", "个人", "男", "1985-01-01", phone, id_number, city, "职员", "2026-05-20", "S01", "展厅"]


def mart_fingerprints(url: str, settings: Settings) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return {
            name: conn.execute(f"select md5(string_agg(t::text, '|' order by t::text)) from marts.{name} t").fetchone()[
                0
            ]
            for name in published_marts(settings)
        }


@pytest.fixture(scope="module")
def scenario(scenario_warehouse):
    warehouse = scenario_warehouse("scenario_marts", build_inbox, AS_OF)
    url, settings, ingested = warehouse.url, warehouse.settings, warehouse.ingested
    first = mart_fingerprints(url, settings)
    steps.dbt_build(AS_OF, settings)
    return {
        "url": url,
        "settings": settings,
        "ingested": ingested,
        "fingerprints": (first, mart_fingerprints(url, settings)),
    }


def test_every_row_loaded(scenario):
    feeds = scenario["ingested"]["feeds"]
    assert all(f["rows_rejected"] == 0 and f["failed"] == 0 for f in feeds.values()), feeds
    # PICC rows: 2 per pair (compulsory-only pairs 1) plus the V06 cancellation row
    picc = [p for p in POLICIES if p.insurer == "PICC"]
    assert feeds["insurer_picc"]["rows_loaded"] == len(picc) + 2  # + V06's cancellation and V01's endorsement
    assert len(POLICIES) == 36


def test_renewal_rates_per_store_and_due_month(scenario):
    rows = query(
        scenario["url"],
        "select store_code, due_month, due_count, renewed_count, lost_count, pending_count, "
        "renewal_rate from marts.rpt_renewal_rate_monthly "
        "where due_month in ('2026-05-01', '2026-06-01') order by 1, 2",
    )
    # S01, May: V01, V02, V03, V04, V05 due (V06's main policy was cancelled): V01, V02 (at CPIC), V05 renewed;
    # V03, V04 lost (as of 07-15 > due + 30) → 3/5.
    # S02, June: V07 renewed at due + 28; V08, V09 pending (due + 30 is after 07-15); V10 lost (its next policy
    # was signed due − 93, outside the window) → 1/4.
    assert rows == [
        ("S01", date(2026, 5, 1), 5, 3, 2, 0, D("0.6000")),
        ("S02", date(2026, 6, 1), 4, 1, 1, 2, D("0.2500")),
    ]


def test_renewal_opportunity_details(scenario):
    rows = dict(
        (r[0], r[1:])
        for r in query(
            scenario["url"],
            "select expiring_policy_no, outcome, lost_reason, renewed_policy_no, first_contact_date, "
            "quoted_date from marts.fct_renewal_opportunities",
        )
    )
    assert rows["PV01A"] == ("renewed_here", None, "PV01RA", date(2026, 3, 15), None)
    assert rows["CV03"] == ("lost", "价格", None, date(2026, 4, 1), date(2026, 4, 20))  # last 战败 wins
    assert rows["PV04A"][:2] == ("lost", "unknown")
    assert rows["CV09"][:2] == ("pending", None)  # a 战败 follow-up, but not past due + 30 yet
    assert rows["PV05Z"][:3] == ("renewed_here", None, "PV05RZ")  # compulsory-only is the main policy
    # the cancelled commercial policy of V06 is its main policy: no opportunity for V06 at all
    assert not [k for k in rows if k.startswith("PV06")]
    assert rows["PV10A"][:2] == ("lost", "unknown")


def test_cancellation_nets_to_the_refunded_amount(scenario):
    rows = query(
        scenario["url"],
        "select txn_type, coverage_code, premium, commission_amount "
        "from marts.fct_policy_transactions where policy_no = 'PV06A' order by 1, 2",
    )
    # issue VD 2,000.00 and TPL 1,000.00 at 20%: 377.36 and 188.68; cancellation −1,333.33 → −251.57,
    # −666.67 → −125.79. Net premium 3,000.00 − 2,000.00 = 1,000.00.
    assert rows == [
        ("cancellation", "TPL", D("-666.67"), D("-125.79")),
        ("cancellation", "VD", D("-1333.33"), D("-251.57")),
        ("issue", "TPL", D("1000.00"), D("188.68")),
        ("issue", "VD", D("2000.00"), D("377.36")),
    ]
    net = query(scenario["url"], "select sum(premium) from marts.fct_policy_transactions where policy_no = 'PV06A'")
    assert net == [(D("1000.00"),)]


def test_total_premium_equals_the_exports(scenario):
    endorsements = sum(D(v) for p in POLICIES for *_, lines in p.endorsements for v in lines.values())
    assert endorsements == D("-2000.00") + D("600.00")  # V06's refund and V01's endorsement
    expected = sum(D(v) for p in POLICIES for v in p.lines.values()) + endorsements
    tax = sum(D(p.tax) for p in POLICIES)
    assert query(scenario["url"], "select sum(premium), sum(vehicle_tax) from marts.fct_policy_transactions") == [
        (expected, tax)
    ]


def test_new_car_penetration(scenario):
    # S01 June: delivered V11 (insured 06-06), V12 (signed 07-12, +32 days: no), V13 (never), V14 (CPIC signed
    # 05-25, −26 days: yes); V15 is only ordered and V16 cancelled → 2 / 4. June 2025: V17, never insured → 0 / 1;
    # April 2026: V18 and V19, never insured → 0 / 2.
    assert query(scenario["url"], "select * from marts.rpt_new_car_penetration_monthly order by month") == [
        ("S01", date(2025, 6, 1), 1, 0, D("0.0000")),
        ("S01", date(2026, 4, 1), 2, 0, D("0.0000")),
        ("S01", date(2026, 6, 1), 4, 2, D("0.5000")),
    ]


def test_accident_repair_retention(scenario):
    # S01 June: CL1 (RO with its number), CL2 (钣喷 at report + 30) repaired here; CL3 (+31) and CL5 (保养 only)
    # not; CL4 withdrawn (注销) → 2 / 4. CL1 arrived twice with a newer status: counted once.
    assert query(scenario["url"], "select * from marts.rpt_accident_repair_retention_monthly") == [
        ("S01", date(2026, 6, 1), 4, 2, D("0.5000"))
    ]


def test_linkage_conversion(scenario):
    rows = query(
        scenario["url"],
        "select source_department, leads, converted, conversion_rate from marts.rpt_linkage_monthly order by 1",
    )
    # 洗车部: L1 converted (+39 days), L2 not → 1/2; 美容部: L3 via customer C11's V11 (+1 day) → 1/1;
    # 快修部: L4's vehicle was insured before the lead → 0/1.
    assert rows == [("快修部", 1, 0, D("0.0000")), ("洗车部", 2, 1, D("0.5000")), ("美容部", 1, 1, D("1.0000"))]


def test_staff_kpi_bonus_and_renewal_commission(scenario):
    row = query(
        scenario["url"],
        "select policies_signed, premium, premium_target, attainment_rate, satisfaction_avg, "
        "kpi_score, tiered_bonus, renewal_commission from marts.fct_staff_kpi_monthly "
        "where staff_id = 'E0001' and month = '2026-05-01'",
    )
    # E0001 in May 2026: CV02R 3,950.00 (05-08), PV05RZ 950.00 (05-20), CV14 5,250.00 (05-25) → 10,150.00;
    # 3 main policies. Target 8,000.00 / 4 policies → attainment 1.26875.
    # Bonus: 5% × (9,600 − 8,000) + 8% × (10,150 − 9,600) = 80 + 44 = 124.00.
    # Satisfaction (保险 surveys 5, 4, 4) = 4.333…; high-value mix: CV02R and CV14 both have 车损 + 三者 → 1.
    # KPI = 100 × (0.40 × 0.75 + 0.30 × 1.26875 + 0.20 × 4.3333/5 + 0.10 × 1) = 95.40.
    # Renewal commission: CV02R renews V02 with commercial 3,000 → 20; PV05RZ compulsory only → 10; = 30.
    assert row == [(3, D("10150.00"), D("8000.00"), D("1.2688"), D("4.33"), D("95.40"), D("124.00"), D("30.00"))]
    april = query(
        scenario["url"],
        "select renewal_commission from marts.fct_staff_kpi_monthly where staff_id = 'E0001' and month = '2026-04-01'",
    )
    assert april == [(D("25.00"),)]  # PV01RA renews V01 with commercial 4,500 → band 4,000–5,000 → 25


def test_daily_operations(scenario):
    row = query(
        scenario["url"],
        "select policies, premium, commercial_premium, compulsory_premium, commission_amount,"
        " renewals_signed, new_car_policies, mtd_premium, mtd_attainment_rate "
        "from marts.rpt_daily_operations where store_code = 'S01' "
        "and business_date = '2026-05-08'",
    )
    # CV02R only: CTP 950 + VD 2,000 + TPL 1,000; commission 179.25 + 377.36 + 188.68 = 745.29; a renewal.
    # Month to date: nothing else at S01 in May before the 8th → 3,950.00 / 50,000 = 0.0790.
    assert row == [(1, D("3950.00"), D("3000.00"), D("950.00"), D("745.29"), 1, 0, D("3950.00"), D("0.0790"))]
    new_car = query(
        scenario["url"],
        "select new_car_policies from marts.rpt_daily_operations "
        "where store_code = 'S01' and business_date = '2026-06-06'",
    )
    assert new_car == [(1,)]


def test_renewal_types(scenario):
    rows = dict(query(scenario["url"], "select policy_no, renewal_type from intermediate.int_main_policies_classified"))
    assert rows["PV11A"] == "new_car"
    assert rows["CV14"] == "new_car"
    assert rows["PV12A"] == "transfer_in"  # delivered 32 days before signing
    assert rows["PV20A"] == "service_conversion"  # washed here in June, first policy here in July
    assert rows["CV02R"] == "renewal"
    assert rows["PV10EA"] == "transfer_in"  # signed 93 days before due: not a renewal


def test_due_list_windows_and_assignment(scenario):
    rows = query(
        scenario["url"],
        "select expiring_policy_no, days_to_expiry, contact_window_days, assigned_staff_id, "
        "assigned_team, contact_30_date, pool_type, assignment_reason from marts.rpt_renewal_due_list order by 2",
    )
    # As of 2026-07-15 the list covers the pool due from 06-15 (expired, in grace) to 09-13, and lapsed cars due from
    # 04-16 to 06-14 (win-back calls). E0002 left on 06-30.
    # CV03 (ends 2026-05-15, −61) and PV04A (ends 05-20, −56) were lost → lapsed, win-back calls; their seller left.
    # V17 delivered 2025-06-20, never insured here → due 2026-06-19 (−26), its sales consultant E0101.
    # PV08A (ends 06-20, −25) and CV09 (06-28, −17) are still pending (+30 grace): expired, in grace, E0003.
    # V40 serviced here on 07-05, recorded expiry 2025/8/1 → moved on a year → 2026-08-01 (17: 30-day window),
    # its service advisor E0201. PV23A ends 2026-08-10 (26: the 30-day window), seller left → the store's team.
    # CV24 ends 2026-09-01 (48: the 60-day window), seller E0001 still employed. Expired rows have no window.
    assert rows == [
        ("CV03", -61, None, None, "S01 保险部", date(2026, 4, 15), "lapsed", "store_team"),
        ("PV04A", -56, None, None, "S01 保险部", date(2026, 4, 20), "lapsed", "store_team"),
        (None, -26, None, "E0101", "S01 保险部", date(2026, 5, 20), "sold_not_insured", "sales_consultant"),
        ("PV08A", -25, None, "E0003", "S02 保险部", date(2026, 5, 21), "group_renewal", "seller"),
        ("CV09", -17, None, "E0003", "S02 保险部", date(2026, 5, 29), "group_renewal", "seller"),
        (None, 17, 30, "E0201", "S01 保险部", date(2026, 7, 2), "serviced_not_insured", "service_advisor"),
        ("PV23A", 26, 30, None, "S01 保险部", date(2026, 7, 11), "group_renewal", "store_team"),
        ("CV24", 48, 60, "E0001", "S01 保险部", date(2026, 8, 2), "group_renewal", "seller"),
    ]
    contacts = query(
        scenario["url"],
        "select expiring_policy_no, insured_phone from marts.rpt_renewal_due_list_contacts order by 1, 2",
    )
    # insurer exports' phones for the policies; the DMS customer's (C13) for V17; V40 has no customer
    assert contacts == [
        ("CV03", "13700137000"),
        ("CV09", "13700137000"),
        ("CV24", "13700137000"),
        ("PV04A", "13800138000"),
        ("PV08A", "13800138000"),
        ("PV23A", "13800138000"),
        (None, "13800130013"),
        (None, None),
    ]


def test_renewal_pool_ownership_lag_and_funnel(scenario):
    url = scenario["url"]
    pool = dict(
        query(
            url,
            "select vin, pool_type from marts.fct_renewal_pool where vin in (%s, %s, %s)",
            (vin(13), vin(17), vin(40)),
        )
    )
    assert pool == {vin(13): "sold_not_insured", vin(17): "sold_not_insured", vin(40): "serviced_not_insured"}
    opportunities = query(
        url,
        "select expiring_policy_no, assigned_staff_id, ownership_exception, renewal_lag_days, expiring_premium "
        "from marts.fct_renewal_opportunities "
        "where expiring_policy_no in ('PV01A', 'PV02A', 'PV07A', 'CV03') order by 1",
    )
    # CV03: assignee E0002 (employed on 05-15); lost; premium 950 + 2,500 + 1,000 = 4,450.00.
    # PV01A renewed by its own seller 15 days early (04-20 vs 05-05). PV02A (seller E0002, employed on its due date
    # 05-10 and on 05-08) renewed by E0001 → an ownership exception (抢户), 2 days early. PV07A renewed 07-08, 28 days
    # after its due date 06-10 (a positive lag), by its seller.
    assert opportunities == [
        ("CV03", "E0002", False, None, D("4450.00")),
        ("PV01A", "E0001", False, -15, D("4200.00")),
        ("PV02A", "E0002", True, -2, D("3100.00")),
        ("PV07A", "E0003", False, 28, D("3800.00")),
    ]
    before_due = query(
        url,
        "select store_code, due_month, renewed_before_due_count from marts.rpt_renewal_rate_monthly "
        "where due_month in ('2026-05-01', '2026-06-01') order by 1",
    )
    # S01 May: PV01A (−15), PV02A (−2), PV05Z (−5) → 3; S02 June: PV07A at +28 → 0
    assert before_due == [("S01", date(2026, 5, 1), 3), ("S02", date(2026, 6, 1), 0)]
    assert query(url, "select count(*) from marts.rpt_ownership_exceptions") == [(0,)]  # PV02A's was in May
    funnel = query(
        url,
        "select staff_id, due_count, contacted_count, effective_contact_count, contacted_by_30_count, "
        "contacted_by_15_count, quoted_count, renewed_count, lost_count, pending_count, renewal_rate, "
        "renewal_rate_target, lost_premium from marts.rpt_renewal_funnel_staff_monthly "
        "where store_code = 'S01' and due_month = '2026-05-01' order by 1",
    )
    # E0001: PV01A (F5 有意向 on 03-15, 51 days before due: effective by −30 and −15, no quote; renewed) and PV05Z
    # (renewed, no call) → 2 due, 1 contacted, 2 renewed; rate 1; target 0.70 (finance row S01/E0001/2026-05).
    # E0002: PV02A (renewed), CV03 (有意向 04-01, 44 days before due; 已报价 4,300; 战败 → lost), PV04A (lost, no
    # call) → 3 due, 1 effective, 1 quoted, 1 renewed, 2 lost; 1/3; no target of its own; lost premium
    # CV03 4,450.00 + PV04A 3,500.00 = 7,950.00.
    assert funnel == [
        ("E0001", 2, 1, 1, 1, 1, 0, 2, 0, 0, D("1.0000"), D("0.7000"), D("0.00")),
        ("E0002", 3, 1, 1, 1, 1, 1, 1, 2, 0, D("0.3333"), None, D("7950.00")),
    ]


def test_first_service_reminders(scenario):
    rows = query(
        scenario["url"],
        "select vin, first_service_due_date, days_to_due, contact_window_days, contact_30_date, contact_15_date, "
        "contact_3_date from marts.rpt_first_service_due_list",
    )
    # V18 delivered 2026-04-16 → due 07-15 (today: 3-day window); V19's 首保 was done; V11–V14 are due in 50–65 days
    assert rows == [(vin(18), date(2026, 7, 15), 0, 3, date(2026, 6, 15), date(2026, 6, 30), date(2026, 7, 12))]


def test_aftersales_files_with_and_without_the_new_columns(scenario):
    url = scenario["url"]
    # the June file has 14 columns, the July file 16: both loaded in the same run, every repair order kept
    assert query(url, "select source_file, status from raw._batches where feed = 'aftersales_ro' order by 1") == [
        ("20260630_ro.csv", "loaded"),
        ("20260715_ro.csv", "loaded"),
    ]
    assert query(url, "select count(*) from staging.stg_aftersales__repair_orders") == [(7,)]  # RO1–RO6, RO9
    assert query(url, "select source_file, source_row_number, cell_value, ro_no from marts.rpt_load_warnings") == [
        ("20260715_ro.csv", 4, "待定", "RO3")
    ]
    assert query(
        url,
        "select ro_no, insurance_expiry_date, insurer_named from staging.stg_aftersales__insurance_records order by 1",
    ) == [("RO3", None, "平安"), ("RO6", date(2025, 8, 1), "大地保险")]


def test_same_inputs_and_as_of_give_the_same_marts(scenario):
    first, second = scenario["fingerprints"]
    assert first == second


def test_a_later_as_of_date_turns_pending_into_lost(scenario):
    later = date(2026, 8, 1)
    steps.dbt_build(later, scenario["settings"])
    try:
        rows = query(
            scenario["url"],
            "select due_count, renewed_count, lost_count, pending_count "
            "from marts.rpt_renewal_rate_monthly "
            "where store_code = 'S02' and due_month = '2026-06-01'",
        )
        # V08 (due 06-20) and V09 (due 06-28) pass due + 30 before 08-01: lost.
        assert rows == [(4, 1, 3, 0)]
        reason = query(
            scenario["url"], "select lost_reason from marts.fct_renewal_opportunities where expiring_policy_no = 'CV09'"
        )
        assert reason == [("服务",)]
        # the premium snapshot gains the as-of date's new month (and loses it again below, on the way back)
        assert query(scenario["url"], "select max(month) from marts.fct_premium_monthly") == [(later,)]
        due = query(
            scenario["url"],
            "select expiring_policy_no, pool_type, days_to_expiry, contact_window_days from marts.rpt_renewal_due_list "
            "where expiring_policy_no in ('CV03', 'PV04A', 'PV08A', 'CV09', 'PV23A', 'CV24') or vin = %s "
            "order by 3",
            (vin(40),),
        )
        # The list of 08-01 (pool due 07-02 to 09-30, lapsed due 05-03 to 07-01), each row moved by the date alone:
        # CV03 (due 05-15) and PV04A (05-20) stay win-back calls, −78 and −73; PV08A (06-20) and CV09 (06-28) turned
        # lost, so lapsed win-back calls, −42 and −34; V40's moved-on expiry 08-01 is today (0: the 15-day window);
        # PV23A (08-10) 9 days, the 15-day window; CV24 (09-01) 31 days, the 60-day window. V17 (sold 2025-06-20) is
        # no longer listed: its term end 2026-06-19 is before 08-01 − 30, so it is due 2027-06-19 (322 days).
        assert due == [
            ("CV03", "lapsed", -78, None),
            ("PV04A", "lapsed", -73, None),
            ("PV08A", "lapsed", -42, None),
            ("CV09", "lapsed", -34, None),
            (None, "serviced_not_insured", 0, 15),
            ("PV23A", "group_renewal", 9, 15),
            ("CV24", "group_renewal", 31, 60),
        ]
        assert query(
            scenario["url"], "select due_date, days_to_due from marts.fct_renewal_pool where vin = %s", (vin(17),)
        ) == [(date(2027, 6, 19), 322)]
        assert query(scenario["url"], "select count(*) from marts.rpt_renewal_due_list where vin = %s", (vin(17),)) == [
            (0,)
        ]
        # the incremental build that moved the date (per-vehicle models recompute the opportunities the date
        # passed) ends where a full rebuild for the later date ends; the build back below is checked by the next test
        assert_full_rebuild_ends_where_incremental_ended(scenario["url"], scenario["settings"], later)
    finally:
        steps.dbt_build(AS_OF, scenario["settings"])


def test_a_run_for_an_earlier_day_than_the_data_passes_the_marts_gate(scenario):
    """A backfill: a run as of 2026-07-11 on a warehouse that holds policies signed up to 07-12. The daily report
    stops at its as-of date, so the gate ties it to the fact's premium signed up to that day, not to every raw row."""
    earlier = date(2026, 7, 11)
    steps.dbt_build(earlier, scenario["settings"])
    try:
        url = scenario["url"]
        # signed after 07-11: only the PV12 pair of 07-12, CTP 950.00 + VD 3,000.00 + TPL 1,000.00 = 4,950.00
        fact_total = scalar(url, "select sum(premium) from marts.fct_policy_transactions")
        assert scalar(url, "select sum(premium) from marts.rpt_daily_operations") == fact_total - Decimal("4950.00")
        assert scalar(url, "select max(business_date) from marts.rpt_daily_operations") == earlier
        published = published_models(read_manifest(scenario["settings"]))
        result = run_mart_checkpoint(url, "backfill", earlier, published)
        assert result.success, result.failed_critical
    finally:
        steps.dbt_build(AS_OF, scenario["settings"])


# PV04A as the 2026-07-15 correction exports it: TPL dropped, VD 2,600 -> 2,700.
PV04A_CORRECTED = Policy(
    "PICC", "PV04A", 4, "S01", "E0002", date(2025, 5, 20), date(2025, 5, 21), date(2026, 5, 20), {"VD": "2700.00"}
)

# A new vehicle's compulsory and commercial policies, first delivered with the PV04A correction below.
PV30_PAIR = pair("PICC", "PV30", 30, "S01", "E0001", date(2026, 7, 14), {"VD": "1500.00"})


def test_incremental_build_applies_corrections_like_a_full_rebuild(scenario):
    """A later export corrects PV04A (TPL dropped, VD 2,600 → 2,700) and adds PV30; the incremental run
    rewrites only those transactions and ends exactly where a full rebuild ends, in every table dbt builds
    (after the as-of date went to August and back in the test above, too)."""
    url, settings = scenario["url"], scenario["settings"]
    inbox = Path(settings.inbox)
    corrected = PV04A_CORRECTED
    new = PV30_PAIR
    write_csv(inbox / "insurer_picc" / "20260715_picc_corrected.csv", PICC_HEADER, picc_rows([corrected, *new]), "gbk")
    before = query(url, "select sum(premium) from marts.fct_policy_transactions")[0][0]
    steps.ingest("scenario-2", AS_OF, settings)
    steps.dbt_build(AS_OF, settings)
    lines = query(
        url, "select coverage_code, premium from marts.fct_policy_transactions where policy_no = 'PV04A' order by 1"
    )
    assert lines == [("VD", D("2700.00"))]
    after = query(url, "select sum(premium) from marts.fct_policy_transactions")[0][0]
    # − (2,600 + 900) + 2,700 + PV30's 950 + 1,500
    assert after - before == D("-3500.00") + D("2700.00") + D("950.00") + D("1500.00")
    assert_full_rebuild_ends_where_incremental_ended(url, settings)


def warehouse_fingerprints(url: str) -> dict[str, str]:
    """Every table dbt builds, as a hash of its sorted rows (without ledger_seq, which records when a row was
    written, not what it says)."""
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "select table_schema || '.' || table_name, string_agg(quote_ident(column_name), ', ' order by "
            "ordinal_position) from information_schema.columns where table_schema in ('staging', 'intermediate', "
            "'marts') and column_name <> 'ledger_seq' group by 1 order by 1"
        ).fetchall()
        return {
            table: conn.execute(
                f"select md5(string_agg(r::text, '|' order by r::text)) from (select {columns} from {table}) r"
            ).fetchone()[0]
            for table, columns in tables
        }


def assert_full_rebuild_ends_where_incremental_ended(url: str, settings, as_of: date = AS_OF) -> None:
    """Every table dbt builds equals a full rebuild of the same data. Only the incremental models carry state
    from one build to the next; every other model is rebuilt whole from them on each build, so rebuilding the
    incremental ones in full from the same inputs decides the equality of all."""
    incremental = warehouse_fingerprints(url)
    # and BI's views of them: a full refresh swaps a table in and drops the old one with its dependent views
    select = ["config.materialized:incremental", "config.materialized:incremental+,path:models/bi"]
    result = steps.run_dbt(["run", "--full-refresh", "--select", *select], as_of, settings)
    assert result["statuses"].get("success", 0) >= 20, result  # staging and the per-key models, not an empty selection
    assert warehouse_fingerprints(url) == incremental


def test_a_batch_held_by_hand_leaves_the_marts_and_returns_on_release(scenario, monkeypatch, capsys):
    """The corrected PICC export of the test above is held by hand after it reached the marts: the next build
    rebuilds in full and PV04A is back to its first version (VD 2,600 + TPL 900), PV30 is gone. Released, it
    comes back through an incremental build, which ends where a full rebuild ends."""
    from pipeline.cli import main

    url, settings = scenario["url"], scenario["settings"]
    monkeypatch.setenv("DW_DATABASE_URL", url)
    monkeypatch.setenv("DW_HOME", str(settings.home))
    (batch_id,) = query(url, "select batch_id from raw._batches where source_file = '20260715_picc_corrected.csv'")[0]
    with_correction = query(url, "select sum(premium) from marts.fct_policy_transactions")[0][0]

    assert main(["batches", "hold", str(batch_id)]) == 0
    assert "rebuilding every model in full" in capsys.readouterr().out
    assert steps.dbt_build(AS_OF, settings)["full_rebuild"]
    lines = query(
        url, "select coverage_code, premium from marts.fct_policy_transactions where policy_no = 'PV04A' order by 1"
    )
    assert lines == [("TPL", D("900.00")), ("VD", D("2600.00"))]
    assert query(url, "select count(*) from marts.fct_policy_transactions where left(policy_no, 4) = 'PV30'") == [(0,)]
    held = query(url, "select sum(premium) from marts.fct_policy_transactions")[0][0]
    assert with_correction - held == D("-3500.00") + D("2700.00") + D("950.00") + D("1500.00")

    assert main(["batches", "release", str(batch_id)]) == 0
    assert not steps.dbt_build(AS_OF, settings)["full_rebuild"]  # the request was cleared by the full rebuild
    assert query(url, "select sum(premium) from marts.fct_policy_transactions")[0][0] == with_correction
    assert_full_rebuild_ends_where_incremental_ended(url, settings)


def test_a_corrected_vin_moves_a_policy_between_vehicles_incrementally(scenario):
    """PV04A (commercial, V04, starts 2025-05-21) is re-exported with V05's VIN: V05's compulsory-only PV05Z
    (starts 2025-05-26, within 30 days) now sits beside a commercial policy and is no longer main, and V04's
    compulsory PV04Z, left alone, becomes main. The incremental build recomputes both vehicles and ends where a
    full rebuild ends; a later re-export with the right VIN puts everything back. Then PV30's policies, V30's only
    rows, move to V05 and back: V30 leaves dim_vehicle and returns."""
    url, settings = scenario["url"], scenario["settings"]
    picc = Path(settings.inbox) / "insurer_picc"
    corrected = PV04A_CORRECTED
    main_policy = "select policy_no, is_main from intermediate.int_policies_aggregated where policy_no in ('PV04A', "
    main_policy += "'PV04Z', 'PV05Z')"

    first_seen = f"select first_seen_date from marts.dim_vehicle where vin = '{vin(5)}'"

    write_csv(picc / "20260715_picc_vin_moved.csv", PICC_HEADER, picc_rows([replace(corrected, vehicle=5)]), "gbk")
    steps.ingest("scenario-vin-moved", AS_OF, settings)
    assert not steps.dbt_build(AS_OF, settings)["full_rebuild"]
    assert dict(query(url, main_policy)) == {"PV04A": True, "PV04Z": True, "PV05Z": False}
    assert query(url, first_seen) == [(date(2025, 5, 20),)]  # PV04A's sign date, now on V05
    assert_full_rebuild_ends_where_incremental_ended(url, settings)

    write_csv(picc / "20260715_picc_vin_restored.csv", PICC_HEADER, picc_rows([corrected]), "gbk")
    steps.ingest("scenario-vin-restored", AS_OF, settings)
    steps.dbt_build(AS_OF, settings)
    assert dict(query(url, main_policy)) == {"PV04A": True, "PV04Z": False, "PV05Z": True}
    assert query(url, first_seen) == [(date(2025, 5, 25),)]  # V05 again first seen with PV05Z

    # PV30's two policies are V30's only rows in any feed: re-exported with V05's VIN, V30 leaves dim_vehicle.
    vehicles = f"select vin from marts.dim_vehicle where vin in ('{vin(5)}', '{vin(30)}') order by 1"
    assert query(url, vehicles) == [(vin(5),), (vin(30),)]
    moved = [replace(policy, vehicle=5) for policy in PV30_PAIR]
    write_csv(picc / "20260715_picc_pv30_moved.csv", PICC_HEADER, picc_rows(moved), "gbk")
    steps.ingest("scenario-pv30-moved", AS_OF, settings)
    assert not steps.dbt_build(AS_OF, settings)["full_rebuild"]
    assert query(url, vehicles) == [(vin(5),)]
    assert_full_rebuild_ends_where_incremental_ended(url, settings)
    write_csv(picc / "20260715_picc_pv30_restored.csv", PICC_HEADER, picc_rows(PV30_PAIR), "gbk")
    steps.ingest("scenario-pv30-restored", AS_OF, settings)
    steps.dbt_build(AS_OF, settings)
    assert query(url, vehicles) == [(vin(5),), (vin(30),)]


@pytest.mark.slow  # a variant of the incremental equality above: two builds and a full rebuild (~55 s)
def test_a_policy_moved_to_another_vin_moves_the_insured_flag_between_unchanged_orders(scenario):
    """CV14 (CPIC, signed 2026-05-25) is re-exported with V13's VIN. SO13 (V13 delivered 06-15: −21 days, within 30)
    is now insured here and SO14 (V14 delivered 06-20) is not. Neither order changed: fct_vehicle_sales (per order)
    rewrites both because int_deliveries_insured now flags them otherwise than its rows. Restored after."""
    url, settings = scenario["url"], scenario["settings"]
    cpic_folder = Path(settings.inbox) / "insurer_cpic"
    cv14 = next(policy for policy in POLICIES if policy.policy_no == "CV14")
    flags = "select order_no, is_insured_here from marts.fct_vehicle_sales where order_no in ('SO13', 'SO14') "
    flags += "order by 1"
    assert query(url, flags) == [("SO13", False), ("SO14", True)]
    moved = cpic_rows([replace(cv14, vehicle=13)])
    write_csv(cpic_folder / "20260715_cpic_cv14_moved.csv", CPIC_HEADER, moved, "utf-8-sig", ";")
    steps.ingest("scenario-cv14-moved", AS_OF, settings)
    assert not steps.dbt_build(AS_OF, settings)["full_rebuild"]
    assert query(url, flags) == [("SO13", True), ("SO14", False)]
    assert_full_rebuild_ends_where_incremental_ended(url, settings)
    write_csv(cpic_folder / "20260715_cpic_cv14_restored.csv", CPIC_HEADER, cpic_rows([cv14]), "utf-8-sig", ";")
    steps.ingest("scenario-cv14-restored", AS_OF, settings)
    steps.dbt_build(AS_OF, settings)
    assert query(url, flags) == [("SO13", False), ("SO14", True)]


def test_an_older_export_delivered_late_loses_to_the_newer_one(scenario):
    """PV04A exported on 2026-06-01 with VD 9,999 arrives after the 2026-07-15 exports above: it loads, as a
    later batch, but the newest export wins (the export date is the file's, in the ledger), so PV04A keeps the
    VD 2,700 of 2026-07-15, and an incremental build still ends where a full rebuild ends."""
    url, settings = scenario["url"], scenario["settings"]
    stale = replace(PV04A_CORRECTED, lines={"VD": "9999.00"})
    write_csv(Path(settings.inbox) / "insurer_picc" / "20260601_picc_late.csv", PICC_HEADER, picc_rows([stale]), "gbk")
    steps.ingest("scenario-late-export", AS_OF, settings)
    assert query(url, "select status from raw._batches where source_file = '20260601_picc_late.csv'") == [("loaded",)]
    assert not steps.dbt_build(AS_OF, settings)["full_rebuild"]
    lines = query(
        url, "select coverage_code, premium from marts.fct_policy_transactions where policy_no = 'PV04A' order by 1"
    )
    assert lines == [("VD", D("2700.00"))]
    assert_full_rebuild_ends_where_incremental_ended(url, settings)


@pytest.mark.slow  # a variant of the incremental equality above: two builds and a full rebuild (~55 s)
def test_a_follow_up_moved_to_another_vin_leaves_its_old_vehicle_incrementally(scenario):
    """F3, V03's last 战败 follow-up (价格, 2026-05-20), is re-exported with V09's VIN. Staging keeps only the new
    version, so the per-vehicle renewal model finds V03 through the follow-up's earlier version in the raw export:
    CV03 (lost) is left with F1 有意向 and F2 已报价, no 战败, so its lost reason becomes 'unknown' and its last
    follow-up F2 (2026-04-20, 已报价). The incremental build ends where a full rebuild ends; restored, CV03 is back."""
    url, settings = scenario["url"], scenario["settings"]
    followups = Path(settings.inbox) / "dms_followups"
    header = export_header("dms_followups")
    cv03 = (
        "select lost_reason, last_followup_date, last_followup_result "
        "from intermediate.int_renewal_opportunities_matched where expiring_policy_no = 'CV03'"
    )
    assert query(url, cv03) == [("价格", date(2026, 5, 20), "战败")]
    moved = [["F3", vin(9), "CV03", "2026-05-20", "电话", "E0001", "战败", "价格", ""]]
    write_csv(followups / "20260715_followups_vin_moved.csv", header, moved, "utf-8")
    steps.ingest("scenario-followup-moved", AS_OF, settings)
    assert not steps.dbt_build(AS_OF, settings)["full_rebuild"]
    assert query(url, cv03) == [("unknown", date(2026, 4, 20), "已报价")]
    assert_full_rebuild_ends_where_incremental_ended(url, settings)
    restored = [["F3", vin(3), "CV03", "2026-05-20", "电话", "E0001", "战败", "价格", ""]]
    write_csv(followups / "20260715_followups_vin_restored.csv", header, restored, "utf-8")
    steps.ingest("scenario-followup-restored", AS_OF, settings)
    steps.dbt_build(AS_OF, settings)
    assert query(url, cv03) == [("价格", date(2026, 5, 20), "战败")]


def test_dbt_docs_generate_describes_the_marts(scenario):
    import json

    settings = scenario["settings"]
    steps.run_dbt(["docs", "generate"], AS_OF, settings)
    catalog = json.loads((Path(settings.home) / "dbt" / "target" / "catalog.json").read_text())
    staff_kpi = catalog["nodes"]["model.dealer_dw.fct_staff_kpi_monthly"]
    assert {"kpi_score", "tiered_bonus", "renewal_commission"} <= set(staff_kpi["columns"])
    # persist_docs writes each model's description (with its formula) into PostgreSQL comments for BI tools
    comment = query(scenario["url"], "select obj_description('marts.rpt_renewal_rate_monthly'::regclass)")[0][0]
    assert "renewed_count / due_count" in comment


# ---- BI access: each role over a real connection ------------------------------------------------------------
def login_as(url: str, group: str, login: str) -> psycopg.Connection:
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_roles where rolname = %s", (login,)).fetchone():
            conn.execute(f'create role "{login}" login in role {group}')
        conn.execute(f"alter role \"{login}\" password 'pw-{login}'")  # the server checks every password
    return psycopg.connect(url.replace("postgres@", f"{login}@", 1), password=f"pw-{login}", autocommit=True)


def can_read(conn: psycopg.Connection, sql: str) -> bool:
    try:
        conn.execute(sql).fetchall()
        return True
    except psycopg.errors.InsufficientPrivilege:
        return False


def test_bi_reader_sees_published_marts_but_no_personal_data_or_commission(scenario):
    with login_as(scenario["url"], "bi_reader", "test_bi") as conn:
        # BI reads schema bi: the marts' views without commission figures or phone numbers
        assert can_read(conn, "select * from bi.rpt_weekly_kpis")
        assert can_read(conn, "select * from bi.dim_customer")
        assert can_read(conn, "select * from bi.fct_policy_transactions")
        assert can_read(conn, "select * from bi.rpt_daily_operations")
        assert not can_read(conn, "select policy_no, premium from marts.fct_policy_transactions")
        assert not can_read(conn, "select * from marts.rpt_store_profit_monthly")
        assert not can_read(conn, "select insured_phone from marts.rpt_renewal_due_list_contacts")
        assert not can_read(conn, "select insured_phone from raw.insurer_picc")
        assert not can_read(conn, "select phone from staging.stg_dms__customers")
        # the views carry the marts' rows: every transaction line of the fact
        both = conn.execute("select count(*) from bi.fct_policy_transactions").fetchone()[0]
    assert both == scalar(scenario["url"], "select count(*) from marts.fct_policy_transactions") > 0


def test_bi_reader_can_select_star_from_every_relation_it_may_read(scenario):
    """From the catalog: the relations bi_reader may read are BI's views, whole, and none has a commission or
    phone column."""
    url = scenario["url"]
    readable = query(
        url,
        "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname not in ('pg_catalog', 'information_schema') "
        "and has_schema_privilege('bi_reader', n.oid, 'usage') "
        "and has_any_column_privilege('bi_reader', c.oid, 'select') order by 1, 2",
    )
    # 41 marts less finance's four (fct_commission_settlement, rpt_commission_reconciliation_monthly,
    # rpt_insurer_scorecard_monthly, rpt_store_profit_monthly) and the insurance staff's contacts list = 36 views
    assert len(readable) == 36 and {schema for schema, _ in readable} == {"bi"}
    assert ("bi", "fct_policy_transactions") in readable and ("bi", "rpt_daily_operations") in readable
    # each is granted whole (a table-level select, no column grants anywhere)
    assert all(scalar(url, "select has_table_privilege('bi_reader', %s, 'select')", (f"{s}.{r}",)) for s, r in readable)
    column_grants = query(
        url,
        "select attrelid::regclass::text, attname from pg_attribute "
        "where array_to_string(attacl, ',') like '%%bi_reader=%%'",
    )
    assert column_grants == []
    hidden = query(
        url,
        "select table_name, column_name from information_schema.columns where table_schema = 'bi' "
        "and (column_name ilike '%%commission%%' or column_name ilike '%%phone%%')",
    )
    assert hidden == []
    with login_as(url, "bi_reader", "test_bi_all") as conn:
        for schema, relation in readable:
            conn.execute(f"select * from {schema}.{relation} limit 1").fetchall()


def test_finance_sees_commission_detail(scenario):
    with login_as(scenario["url"], "finance", "test_finance") as conn:
        assert can_read(conn, "select commission_amount from marts.fct_policy_transactions")
        assert can_read(conn, "select insurance_profit from marts.rpt_store_profit_monthly")
        assert not can_read(conn, "select insured_phone from marts.rpt_renewal_due_list_contacts")


def test_insurance_staff_sees_due_lists_with_phone_numbers(scenario):
    with login_as(scenario["url"], "insurance_staff", "test_insurance") as conn:
        phones = conn.execute("select insured_phone from marts.rpt_renewal_due_list_contacts order by 1").fetchall()
        # CV03, CV09, CV24 (CPIC export); C13's phone for V17; PV04A, PV08A, PV23A; V40 has none
        assert phones == [("13700137000",)] * 3 + [("13800130013",)] + [("13800138000",)] * 3 + [(None,)]
        assert not can_read(conn, "select commission_amount from marts.fct_policy_transactions")


def test_store_manager_sees_only_its_store(scenario):
    url = scenario["url"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into ops.store_managers values ('test_manager_s02', 'S02') on conflict do nothing")
        everything = conn.execute("select count(*) from marts.rpt_daily_operations").fetchone()[0]
        s02 = conn.execute("select count(*) from marts.rpt_daily_operations where store_code = 'S02'").fetchone()[0]
    with login_as(url, "store_manager", "test_manager_s02") as conn:
        stores = {s for (s,) in conn.execute("select distinct store_code from marts.rpt_daily_operations")}
        assert stores == {"S02"}
        assert conn.execute("select count(*) from marts.rpt_daily_operations").fetchone()[0] == s02 < everything
        renewals = conn.execute(
            "select store_code, due_count from marts.rpt_renewal_rate_monthly "
            "where due_month in ('2026-05-01', '2026-06-01')"
        ).fetchall()
        assert renewals == [("S02", 4)]  # S01's May cohort is invisible to S02's manager
        for mart in ("fct_renewal_pool", "rpt_renewal_funnel_staff_monthly", "rpt_renewal_due_list"):
            assert {s for (s,) in conn.execute(f"select distinct store_code from marts.{mart}")} == {"S02"}, mart
        assert not can_read(conn, "select insured_phone from marts.rpt_renewal_due_list_contacts")
        # BI's views (schema bi, Superset's datasets) run with their owner's rights and apply the same rule
        assert conn.execute("select count(*) from bi.rpt_daily_operations").fetchone()[0] == s02
        assert conn.execute("select distinct store_code from bi.rpt_renewal_rate_monthly").fetchall() == [("S02",)]
        vins = "select count(*) from {}.dim_vehicle"
        assert conn.execute(vins.format("bi")).fetchone() == conn.execute(vins.format("marts")).fetchone()
    with login_as(url, "bi_reader", "test_bi_reader_all") as conn:
        assert conn.execute("select count(*) from bi.rpt_daily_operations").fetchone()[0] == everything


def test_store_manager_sees_customers_vehicles_claims_and_followups_of_its_stores_only(scenario):
    """The marts without a store_code column are scoped through the policy's, vehicle's or customer's store."""
    url = scenario["url"]
    store_facts = (
        "select {key} from marts.fct_policy_transactions where store_code = 'S02' union "
        "select {key} from marts.fct_vehicle_sales where store_code = 'S02'"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into ops.store_managers values ('test_manager_s02', 'S02') on conflict do nothing")
        vins = {
            v
            for (v,) in conn.execute(
                store_facts.format(key="vin") + " union select vin from "
                "marts.fct_repair_orders where store_code = 'S02'"
            )
        }
        policies = {
            p for (p,) in conn.execute("select policy_no from marts.fct_policy_transactions where store_code = 'S02'")
        }
        all_vehicles = {v for (v,) in conn.execute("select vin from marts.dim_vehicle")}
        all_claims = conn.execute("select count(*) from marts.fct_claims").fetchone()[0]
    with login_as(url, "store_manager", "test_manager_s02") as conn:
        seen = {v for (v,) in conn.execute("select vin from marts.dim_vehicle")}
        assert seen == all_vehicles & vins and seen < all_vehicles  # another store's vehicles stay hidden
        for mart in ("fct_claims", "fct_followups"):
            rows = conn.execute(f"select policy_no, vin from marts.{mart}").fetchall()
            assert all(policy in policies or vin in vins for policy, vin in rows)
        assert conn.execute("select count(*) from marts.fct_claims").fetchone()[0] <= all_claims
        customers = conn.execute("select count(*) from marts.dim_customer").fetchone()[0]
        with psycopg.connect(url) as admin:
            assert customers < admin.execute("select count(*) from marts.dim_customer").fetchone()[0]


def test_due_list_files_per_store_with_contacts(scenario):
    import csv

    import openpyxl

    written = [Path(p) for p in steps.due_lists(AS_OF, scenario["settings"])]
    assert sorted(p.name for p in written) == [
        "应续清单_S01_2026-07-15.csv",
        "应续清单_S01_2026-07-15.xlsx",
        "应续清单_S02_2026-07-15.csv",
        "应续清单_S02_2026-07-15.xlsx",
    ]
    assert all(p.stat().st_mode & 0o777 == 0o640 for p in written)
    workbook = openpyxl.load_workbook(next(p for p in written if p.name == "应续清单_S01_2026-07-15.xlsx"))
    # a sheet per assignee, with the person's name, the store team, and the colour legend
    assert sorted(workbook.sheetnames) == ["E0001 王伟", "E0101 刘强", "E0201 陈静", "S01 保险部", "图例"]
    team = list(workbook["S01 保险部"].iter_rows(values_only=True))
    # the team's rows: PV23A (26 days) before the two win-back calls CV03 (−61) and PV04A (−56)
    assert [row[2] for row in team[1:]] == ["PV23A", "CV03", "PV04A"]
    assert team[1][15] == "13800138000" and team[2][13] == "挽回电话"
    with next(p for p in written if p.name == "应续清单_S01_2026-07-15.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][0] == "车架号" and len(rows) == 7  # header + the 6 S01 rows of the mart


def test_a_changed_dbt_project_is_rebuilt_in_full_once(scenario, tmp_path):
    """A warehouse whose incremental tables were built by older code (here: fct_policy_transactions without
    renewal_type, as before that column existed) fails an incremental build; the first build after the project
    changed rebuilds in full instead, and the next one is incremental again. A change to a docs block is no change."""
    import shutil

    from pipeline import dbt_state

    url, settings = scenario["url"], scenario["settings"]
    copy = tmp_path / "dbt_project"
    shutil.copytree(dbt_state.DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    original = dbt_state.project_fingerprint(copy)
    (copy / "docs" / "rules_catalogue.md").write_text("{% docs anything %}reworded{% enddocs %}")
    assert dbt_state.project_fingerprint(copy) == original
    model = next((copy / "models").rglob("fct_policy_transactions.sql"))
    model.write_text(model.read_text() + "\n-- a new line of SQL\n")
    assert dbt_state.project_fingerprint(copy) != original

    with psycopg.connect(url, autocommit=True) as conn:
        # cascade: BI's view of the fact goes too, and the rebuild makes it again
        conn.execute("alter table marts.fct_policy_transactions drop column renewal_type cascade")
        conn.execute("update ops.dbt_project_state set fingerprint = 'the project as it was last week'")
    assert steps.dbt_build(AS_OF, settings)["full_rebuild"]
    assert query(url, "select fingerprint from ops.dbt_project_state") == [(dbt_state.project_fingerprint(),)]
    assert query(url, "select count(*) from marts.fct_policy_transactions where renewal_type is null") == [(0,)]
    assert query(url, "select count(*) from bi.fct_policy_transactions where renewal_type is null") == [(0,)]
    # the full rebuild loaded the seeds and ran the tests only a change of code can fail (the seeds', BI views'); the
    # next build leaves them out
    code_only = {"test.dealer_dw.unique_bi_fct_claims_claim_no", "test.dealer_dw.unique_stores_store_code"}
    full_build = nodes_of_last_build(settings)
    assert "seed.dealer_dw.stores" in full_build and code_only <= {node.rsplit(".", 1)[0] for node in full_build}
    assert not steps.dbt_build(AS_OF, settings)["full_rebuild"]
    ran = nodes_of_last_build(settings)
    assert not any(node.startswith("seed.") for node in ran)
    assert not code_only & {node.rsplit(".", 1)[0] for node in ran}
    assert "model.dealer_dw.bi_fct_claims" in ran  # the view itself is made again (a table swap drops it)


def nodes_of_last_build(settings) -> set[str]:
    results = json.loads((settings.home / "dbt" / "target" / "run_results.json").read_text())["results"]
    return {result["unique_id"] for result in results}


# The test policy (README "What is guaranteed when"), on this group, after every test above (they add days to it):
# PostgreSQL refuses a row that breaks a published key on every write; the daily build's data tests read only the
# rows that build wrote (macros/test_scope.sql); the weekly suite `steps.whole_table_tests` reads every row; unit
# tests are left out of production builds and run here.
DAY_2, DAY_3 = date(2026, 7, 16), date(2026, 7, 17)
TXN_TYPE_TEST = "accepted_values_int_policy_lines_unioned_txn_type"


def set_txn_type(url: str, policy_no: str, txn_type: str) -> int:
    """A defect as a bug or a hand edit would leave it (as the superuser): a value the accepted_values test forbids."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "update intermediate.int_policy_lines_unioned set txn_type = %s where policy_no = %s", (txn_type, policy_no)
        ).rowcount


def test_production_builds_leave_unit_tests_to_the_suite_which_runs_every_one(scenario):
    assert not {node for node in nodes_of_last_build(scenario["settings"]) if node.startswith("unit_test.")}
    # every unit test of the project: 1 + 2 + 2 + 3 + 2 (intermediate) + 4 + 2 + 3 (marts) = 19 in the *_unit_tests.yml
    result = steps.run_dbt(["test", "--select", "resource_type:unit_test"], AS_OF, scenario["settings"])
    assert result["statuses"] == {"pass": 19}


def test_daily_tests_read_the_rows_the_build_wrote_and_the_weekly_suite_every_row(scenario):
    url, settings = scenario["url"], scenario["settings"]
    # an old row (PAIC PV02A, loaded on day 1: its two lines VD and TPL) gets a txn_type the test forbids
    assert set_txn_type(url, "PV02A", "refund") == 2
    # day 2 delivers one new PICC policy, TP01A (one line, VD)
    exports.write_picc(
        scenario["settings"].inbox,
        "20260716_picc.csv",
        [exports.picc_row("TP01A", vin(90), "1000.00", sign="2026/7/16", start="2026-07-17", end="2027-07-16")],
    )
    steps.ingest("scenario-day2", DAY_2, settings)
    built = steps.dbt_build(DAY_2, settings)  # the daily build's tests read TP01A's line only: it passes
    assert not built["full_rebuild"]
    # the build read each model's watermark as a literal the planner can estimate (DW_DBT_WATERMARKS), not as a
    # subquery: staging looked for the batches above the change number it had been built up to before this build
    run = json.loads((settings.home / "dbt" / "target" / "run_results.json").read_text())
    staged = next(r for r in run["results"] if r["unique_id"] == "model.dealer_dw.stg_insurer_picc__policies")
    before = scalar(
        url, "select previous_change_seq from ops.dbt_watermarks where model = 'stg_insurer_picc__policies'"
    )
    assert before > 0 and f"where change_seq > {before}\n" in staged["compiled_code"]
    assert "ops.dbt_watermarks" not in staged["compiled_code"]
    assert scalar(url, "select count(*) from intermediate.int_policy_lines_unioned where policy_no = 'TP01A'") == 1

    # the weekly suite reads every row: the old defect is found, and named
    with pytest.raises(steps.DbtFailed) as weekly:
        steps.whole_table_tests(DAY_2, settings)
    assert TXN_TYPE_TEST in str(weekly.value)
    assert "{'pass':" in str(weekly.value) and "'fail': 1" in str(weekly.value)  # that test only
    assert set_txn_type(url, "PV02A", "issue") == 2

    # a defect in a row the daily build wrote is found by the daily build's tests (run again, as a retry of the
    # task would: no ledger change came in between, so they read the same rows; run as tests alone, one build less)
    assert set_txn_type(url, "TP01A", "refund") == 1
    with pytest.raises(steps.DbtFailed) as daily:
        steps.run_dbt(["test", "--select", "int_policy_lines_unioned"], DAY_2, settings, test_scope="daily")
    assert TXN_TYPE_TEST in str(daily.value)
    assert set_txn_type(url, "TP01A", "issue") == 1


def test_the_customer_snapshot_records_a_changed_record_from_the_rows_written_that_day(scenario):
    """snp_dms__customers reads only the rows written since its last run (macros/snapshots.sql). Day 2's export
    moves C12 from 深圳 to 广州 and repeats C13 unchanged: C12 gets a second version and its first one is closed;
    C13, written again with the same values, and the four customers not in the export keep their one version."""
    url, settings = scenario["url"], scenario["settings"]
    write_csv(
        Path(settings.inbox) / "dms_customers" / "20260716_customers.csv",
        export_header("dms_customers"),
        [customer_row(12, city="广州"), customer_row(13)],
        "utf-8",
    )
    steps.ingest("scenario-day2-customers", DAY_2, settings)
    steps.dbt_build(DAY_2, settings)
    versions = query(
        url,
        "select customer_id, city, dbt_valid_to is null from snapshots.snp_dms__customers "
        "order by customer_id, dbt_valid_from",
    )
    assert versions == [
        ("C11", "深圳", True),
        ("C12", "深圳", False),
        ("C12", "广州", True),
        ("C13", "深圳", True),
        ("C14", "深圳", True),
        ("C15", "深圳", True),
        ("C16", "深圳", True),
    ]
    # each snapshot of a stamped model records how far it has read, so a day it misses is read on the next one
    read_through = query(
        url,
        "select model, change_seq = (select max(change_seq) from raw._batches) from ops.dbt_watermarks "
        "where left(model, 4) = 'snp_' order by model",
    )
    assert read_through == [("snp_dms__customers", True), ("snp_vehicles", True)]


def test_the_models_whose_daily_tests_read_written_rows_are_those_that_stamp_them(scenario):
    """macros/test_scope.sql decides from dbt's graph, not the catalogue, which models' daily tests read only the
    rows a build wrote: the incremental models not configured `rows_stamped: false`. Each of them must have the
    `ledger_seq` column, and no other built table may have it (it would be tested whole without anyone noticing)."""
    manifest = read_manifest(scenario["settings"])
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    stamped = {
        node["alias"] or node["name"]
        for node in models
        if node["config"]["materialized"] == "incremental" and node["config"]["meta"].get("rows_stamped", True)
    }
    with_column = query(
        scenario["url"],
        "select table_name from information_schema.columns where column_name = 'ledger_seq' "
        "and table_schema in ('staging', 'intermediate', 'marts')",
    )
    assert len(stamped) >= 30  # staging and the per-key models, not an empty selection
    assert {name for (name,) in with_column} == stamped


def test_postgresql_refuses_a_duplicate_key_and_the_message_names_model_constraint_and_key(scenario):
    url, settings = scenario["url"], scenario["settings"]
    before = query(url, "select count(*), sum(premium) from marts.fct_policy_transactions")
    # A defective PAIC export: policy TPDUP's vehicle-damage cover in two lines with two names that seed
    # coverage_aliases both maps to VD (车损险, 机动车损失保险) and two different issuing staff (E0002, E0001).
    # The fact's grain is policy × transaction × coverage, so both lines are the row (PAIC, TPDUP, 0, VD), once per
    # staff code: a second row of one key, which the primary key refuses.
    cover = {"sign": DAY_3, "start": date(2026, 7, 18), "end": date(2027, 7, 17)}
    first = exports.paic_row("TPDUP", vin(91), "车损险", 2000.0, **cover)
    second = exports.paic_row("TPDUP", vin(91), "机动车损失保险", 500.0, **cover)
    second[18] = "E0001"
    exports.write_paic(scenario["settings"].inbox, "20260717_paic.xlsx", [first, second])
    steps.ingest("scenario-day3", DAY_3, settings)

    with pytest.raises(steps.DbtFailed) as refused:
        steps.dbt_build(DAY_3, settings)
    message = str(refused.value)
    assert "model fct_policy_transactions: PostgreSQL refused a row" in message
    # PostgreSQL names the constraint after the table; a full refresh builds the table beside the old one, whose
    # constraint still holds the name, so the new one may get a number: _pkey or _pkey1 (the test order decides)
    assert re.search(r'duplicate key value violates unique constraint "fct_policy_transactions_pkey\d*"', message)
    assert "Key (insurer_code, policy_no, txn_no, coverage_code)=(PAIC, TPDUP, 0, VD) already exists" in message
    assert "Traceback" not in message
    # the failed write was rolled back: the fact holds yesterday's rows
    assert query(url, "select count(*), sum(premium) from marts.fct_policy_transactions") == before
    assert scalar(url, "select count(*) from marts.fct_policy_transactions where policy_no = 'TPDUP'") == 0
