"""Write a `World` as the exports of the source contract (ingestion/feeds.py), with their layouts and quirks.

Quirks written on purpose: GBK CSV with a 合计 total row, mixed date formats and thousands separators,
XLSX with title rows, real Excel dates, a merged cell and a formula cell, BOM + `;` CSV with wide
coverage columns, overlapping monthly deltas, endorsements and cancellations, re-delivered files, and a
few bad rows (each listed in `BAD_ROWS`, so the tests and the run summary can say what to expect).
"""

from __future__ import annotations

import csv
import io
import random
import shutil
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import xlsxwriter

from ingestion.feeds import export_header
from samples.renewal_ops import InsuranceCells, plant_not_a_date, with_insurance_columns
from samples.world import Claim, Policy, Transaction, World, add_months

PICC_NAMES = {
    "CTP": "交强险",
    "VD": "车损险",
    "TPL": "三者险(100万)",
    "SEAT_DRIVER": "车上人员险(司机)",
    "SEAT_PASSENGER": "车上人员险(乘客)",
    "RIDER": "道路救援服务特约条款",
}
PAIC_NAMES = {
    "CTP": "交强险",
    "VD": "机动车损失保险",
    "TPL": "第三者责任保险",
    "SEAT_DRIVER": "车上人员责任保险(司机)",
    "SEAT_PASSENGER": "车上人员责任保险(乘客)",
    "RIDER": "道路救援服务特约条款",
}
PAIC_SUM_INSURED = {"CTP": 200_000, "TPL": 1_000_000, "SEAT_DRIVER": 10_000, "SEAT_PASSENGER": 40_000, "RIDER": 0}
CPIC_COLUMNS = {
    "CTP": "交强险保费",
    "VD": "车损险保费",
    "TPL": "三者险保费",
    "SEAT_DRIVER": "车上人员险保费",
    "SEAT_PASSENGER": "车上人员险保费",
    "RIDER": "附加险保费",
}
BUSINESS_PAIC = {"new": "新保", "renewal": "续保", "transfer": "转保"}
BUSINESS_CPIC = {"new": "NEW", "renewal": "REN", "transfer": "NEW"}

# What the generator breaks on purpose: (feed, reason fragment the loader must report).
BAD_ROWS = (
    ("insurer_picc", "签单日期"),
    ("insurer_picc", "duplicate"),
    ("insurer_paic", "negative premium"),
    ("insurer_cpic", "VIN"),
    ("insurer_cpic", "end_date is before start_date"),
    ("dms_sales", "duplicate"),
    ("aftersales_ro", "工时费"),
)


def write_csv_export(
    path: Path,
    header: list[str],
    rows: list[list[str]],
    encoding: str,
    delimiter: str = ",",
    trailer: list[str] | None = None,
) -> Path:
    """A CSV export as the source systems write it: CRLF line ends, the feed's encoding, an optional 合计 row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    if trailer:
        writer.writerow(trailer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def money(cents: int, thousands: bool = False) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{frac:02d}" if thousands else f"{sign}{whole}.{frac:02d}"


def month_ends(world: World) -> list[date]:
    ends, month = [], world.start
    while month <= world.as_of:
        ends.append(min(add_months(month, 1) - timedelta(days=1), world.as_of))
        month = add_months(month, 1)
    return ends


def month_of(day: date, ends: list[date]) -> date | None:
    for end in ends:
        if day <= end:
            return end
    return None


@dataclass
class PolicyEvent:
    """One row-worthy event of a policy: its issue, or one endorsement or cancellation."""

    policy: Policy
    txn: Transaction | None

    @property
    def sign(self) -> date:
        return self.txn.sign if self.txn else self.policy.sign

    @property
    def lines(self) -> dict[str, int]:
        return self.txn.lines if self.txn else self.policy.lines


def events_by_month(world: World, insurer: str, ends: list[date]) -> dict[date, list[PolicyEvent]]:
    by_month: dict[date, list[PolicyEvent]] = defaultdict(list)
    for policy in world.policies:
        if policy.insurer != insurer:
            continue
        for event in [PolicyEvent(policy, None)] + [PolicyEvent(policy, t) for t in policy.transactions]:
            end = month_of(event.sign, ends)
            if end:
                by_month[end].append(event)
    return by_month


class ExportWriter:
    def __init__(self, world: World, inbox: Path, seed: int) -> None:
        self.world = world
        self.inbox = inbox
        self.rng = random.Random(seed + 1)
        self.ends = month_ends(world)
        self.files: list[Path] = []

    def workbook(self, path: Path, export: date) -> xlsxwriter.Workbook:
        """xlsxwriter stamps the creation time; fix it so the same world gives byte-identical files."""
        book = xlsxwriter.Workbook(str(path))
        book.set_properties({"created": datetime(export.year, export.month, export.day, 8, 0)})
        return book

    def path(self, feed: str, export: date, suffix: str) -> Path:
        folder = self.inbox / feed
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{export:%Y%m%d}_{suffix}"
        self.files.append(path)
        return path

    def a_date(self, day: date | None) -> str:
        if day is None:
            return ""
        return f"{day.year}/{day.month}/{day.day}" if self.rng.random() < 0.5 else day.isoformat()

    def rate(self, value: float) -> str:
        return f"{round(value * 100)}%" if self.rng.random() < 0.5 else f"{value:.2f}"

    def messy_vin(self, vin: str) -> str:
        roll = self.rng.random()
        return vin.lower() if roll < 0.1 else (f" {vin} " if roll < 0.2 else vin)

    # ---- insurers ------------------------------------------------------------------------------
    def picc(self) -> None:
        header = export_header("insurer_picc")
        by_month = events_by_month(self.world, "PICC", self.ends)
        for index, end in enumerate(self.ends):
            rows = []
            for event in by_month.get(end, []):
                p, txn = event.policy, event.txn
                compulsory = "CTP" in p.lines
                detail = "" if compulsory else ";".join(f"{PICC_NAMES[c]}:{money(v)}" for c, v in event.lines.items())
                plate = p.vehicle.plate or "新车未上牌"
                if plate != "新车未上牌" and self.rng.random() < 0.1:
                    plate = plate[:2] + " " + plate[2:]
                rows.append(
                    [
                        p.policy_no,
                        txn.txn_no if txn else "",
                        {None: "", "endorsement": "批改", "cancellation": "退保"}[txn.kind if txn else None],
                        "交强险" if compulsory else "商业险",
                        detail,
                        self.a_date(event.sign),
                        self.a_date(p.start),
                        self.a_date(p.end),
                        plate,
                        self.messy_vin(p.vehicle.vin),
                        p.vehicle.customer.name,
                        p.vehicle.customer.id_number,
                        p.vehicle.customer.phone,
                        money(sum(event.lines.values()), thousands=self.rng.random() < 0.3),
                        money(p.tax if not txn else 0),
                        self.rate(next(iter(p.rates.values()))),
                        p.staff,
                        p.store,
                        p.previous_policy_no or "",
                    ]
                )
            if index == 3 and rows:  # a bad date and an exact duplicate row
                bad = list(rows[0])
                bad[0] = bad[0][:-4] + "9999"
                bad[5] = "2025/13/45"
                rows.extend([bad, list(rows[1 % len(rows)])])
            total = sum(sum(e.lines.values()) for e in by_month.get(end, []))
            path = self.path("insurer_picc", end, "picc_policies.csv")
            write_csv_export(
                path,
                header,
                rows,
                "gbk",
                trailer=["合计", "", "", "", "", "", "", "", "", "", "", "", "", money(total, thousands=True)],
            )
            if index == 2:  # the insurer sent the same export again under another name
                shutil.copyfile(path, self.path("insurer_picc", end, "picc_policies_resend.csv"))

    def paic(self) -> None:
        header = export_header("insurer_paic")
        by_month = events_by_month(self.world, "PAIC", self.ends)
        for index, end in enumerate(self.ends):
            path = self.path("insurer_paic", end, "paic_policy_lines.xlsx")
            book = self.workbook(path, end)
            sheet = book.add_worksheet("保单明细")
            date_format = book.add_format({"num_format": "yyyy-mm-dd"})
            sheet.write(0, 0, "中国平安财产保险股份有限公司 车险保单明细")
            sheet.write(1, 0, f"导出时间: {end:%Y-%m-%d} 08:00")
            sheet.write_row(2, 0, header)
            row = 3
            merged_done = formula_done = False
            for event in by_month.get(end, []):
                p, txn = event.policy, event.txn
                first_row = row
                for line_no, (code, cents) in enumerate(event.lines.items()):
                    kind = (
                        {"endorsement": "批改", "cancellation": "退保"}[txn.kind] if txn else BUSINESS_PAIC[p.business]
                    )
                    sum_insured = PAIC_SUM_INSURED.get(code, p.vehicle.price)
                    values = [
                        p.policy_no,
                        txn.txn_no if txn else "",
                        kind,
                        "机动车交通事故责任强制保险" if code == "CTP" else "机动车商业保险",
                        PAIC_NAMES[code],
                        sum_insured,
                        cents / 100,
                        (p.tax / 100 if code == "CTP" and line_no == 0 and not txn else None),
                    ]
                    for col, value in enumerate(values):
                        if value is not None:
                            sheet.write(row, col, value)
                    for col, day in enumerate((event.sign, p.start, p.end), start=8):
                        sheet.write_datetime(row, col, datetime(day.year, day.month, day.day), date_format)
                    sheet.write_row(
                        row,
                        11,
                        [
                            p.vehicle.plate or "新车未上牌",
                            p.vehicle.vin,
                            p.vehicle.engine_no,
                            p.vehicle.customer.name,
                            p.vehicle.customer.id_number,
                            p.vehicle.customer.phone,
                            p.rates[code],
                            p.staff,
                            p.store,
                        ],
                    )
                    if not formula_done and cents > 10_000 and not txn:
                        whole, frac = divmod(cents, 100)
                        sheet.write_formula(row, 6, f"={whole}+{frac}/100", None, cents / 100)
                        formula_done = True
                    row += 1
                if not merged_done and row - first_row >= 3:  # the policy number merged over its lines
                    sheet.merge_range(first_row, 0, row - 1, 0, p.policy_no)
                    merged_done = True
            if index == 4:  # a negative premium on a new-business row
                sheet.write_row(
                    row,
                    0,
                    ["1105209999999999", "", "新保", "机动车商业保险", "第三者责任保险", 1_000_000, -876.5, None],
                )
                for col in (8, 9):
                    sheet.write_datetime(row, col, datetime(end.year, end.month, 1), date_format)
                sheet.write_datetime(row, 10, datetime(end.year + 1, end.month, 1) - timedelta(days=1), date_format)
                sheet.write_row(
                    row,
                    11,
                    [
                        "粤B00000",
                        "LSVAB123456789012",
                        "EA1",
                        "测试",
                        "440304199001011234",
                        "13800000000",
                        0.2,
                        "E0001",
                        "S01",
                    ],
                )
            book.close()

    def cpic(self) -> None:
        header = export_header("insurer_cpic")
        by_month = events_by_month(self.world, "CPIC", self.ends)
        for index, end in enumerate(self.ends):
            rows = []
            for event in by_month.get(end, []):
                p, txn = event.policy, event.txn
                wide: dict[str, int] = defaultdict(int)
                for code, cents in event.lines.items():
                    wide[CPIC_COLUMNS[code]] += cents
                commercial_rate = next((r for c, r in p.rates.items() if c != "CTP"), p.rates["CTP"])
                rows.append(
                    [
                        p.policy_no,
                        txn.txn_no if txn else "",
                        {"endorsement": "END", "cancellation": "CAN"}[txn.kind] if txn else BUSINESS_CPIC[p.business],
                        *[
                            money(wide[col]) if col in wide else ("" if self.rng.random() < 0.5 else "0")
                            for col in ("交强险保费", "车损险保费", "三者险保费", "车上人员险保费", "附加险保费")
                        ],
                        money(p.tax if not txn else 0),
                        f"{commercial_rate:.2f}",
                        f"{event.sign:%Y%m%d}",
                        f"{p.start:%Y%m%d}",
                        f"{p.end:%Y%m%d}",
                        p.vehicle.plate or "",
                        self.messy_vin(p.vehicle.vin),
                        p.vehicle.customer.name,
                        p.vehicle.customer.id_number,
                        p.vehicle.customer.phone,
                        p.staff,
                        p.store,
                    ]
                )
            if index == 5 and len(rows) > 2:  # a short VIN, and an end date before the start date
                short_vin = list(rows[0])
                short_vin[0], short_vin[14] = "ASZZ20259999990001", short_vin[14].strip()[:16]
                backwards = list(rows[1])
                backwards[0], backwards[1], backwards[2] = "ASZZ20259999990002", "", "NEW"
                backwards[12] = (
                    date.fromisoformat(f"{backwards[11][:4]}-{backwards[11][4:6]}-{backwards[11][6:]}")
                    - timedelta(days=1)
                ).strftime("%Y%m%d")
                rows.extend([short_vin, backwards])
            write_csv_export(self.path("insurer_cpic", end, "cpic_policies.csv"), header, rows, "utf-8-sig", ";")

    def claims(self) -> None:
        header = export_header("insurer_claims")
        for end in self.ends:
            recent = [c for c in self.world.claims if end - timedelta(days=60) < c.reported <= end]
            path = self.path("insurer_claims", end, "claims.xlsx")
            book = self.workbook(path, end)
            sheet = book.add_worksheet("理赔清单")
            stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
            sheet.write_row(0, 0, header)
            for row, claim in enumerate(recent, start=1):
                status, paid = self.claim_status_on(claim, end)
                sheet.write_row(
                    row,
                    0,
                    [
                        claim.claim_no,
                        claim.policy.policy_no,
                        claim.policy.insurer,
                        claim.policy.vehicle.plate or "",
                        claim.policy.vehicle.vin,
                    ],
                )
                sheet.write_datetime(
                    row, 5, datetime(claim.occurred.year, claim.occurred.month, claim.occurred.day, 9, 30), stamp
                )
                sheet.write_datetime(
                    row, 6, datetime(claim.reported.year, claim.reported.month, claim.reported.day, 11, 5), stamp
                )
                sheet.write_row(row, 7, ["追尾" if row % 2 else "倒车剐蹭", claim.estimate / 100])
                if paid is not None:
                    sheet.write(row, 9, paid / 100)
                sheet.write_row(row, 10, [status, claim.recommended_store or ""])
            book.close()

    @staticmethod
    def claim_status_on(claim: Claim, day: date) -> tuple[str, int | None]:
        if claim.status == "注销":
            return "注销", None
        age = (day - claim.reported).days
        if age > 30 and claim.status == "已结案":
            return "已结案", claim.paid
        return ("已定损" if age > 5 else "已报案"), None

    # ---- DMS, after-sales, finance -------------------------------------------------------------
    def dms_sales(self) -> None:
        header = export_header("dms_sales")
        for index, end in enumerate(self.ends):
            begin = add_months(end.replace(day=1), 0)
            rows = []
            for sale in self.world.sales:
                ordered_now = begin <= sale.ordered <= end
                delivered_now = sale.delivered is not None and begin <= sale.delivered <= end
                if not (ordered_now or delivered_now):
                    continue
                delivered = sale.delivered if sale.delivered and sale.delivered <= end else None
                status = sale.status if delivered or sale.status == "已退订" else "已订车"
                brand, series, model, msrp, nev = sale.vehicle.model
                rows.append(
                    [
                        sale.order_no,
                        sale.store,
                        sale.staff,
                        sale.vehicle.customer.customer_id,
                        sale.vehicle.vin,
                        brand,
                        series,
                        model,
                        "是" if nev else "否",
                        f"{msrp}.00",
                        f"{sale.price}.00",
                        "贷款" if sale.loan else "全款",
                        sale.ordered.isoformat(),
                        delivered.isoformat() if delivered else "",
                        status,
                    ]
                )
            if index == 1 and rows:
                rows.append(list(rows[0]))
            write_csv_export(self.path("dms_sales", end, "sales.csv"), header, rows, "utf-8")

    def snapshot_days(self) -> list[date]:
        return [self.ends[len(self.ends) // 2], self.ends[-1]]

    def dms_customers(self) -> None:
        header = export_header("dms_customers")
        for day in self.snapshot_days():
            rows = [
                [
                    c.customer_id,
                    c.name,
                    c.kind,
                    c.gender,
                    c.birth.isoformat() if c.birth else "",
                    c.phone,
                    c.id_number,
                    c.city,
                    c.job,
                    c.created.isoformat(),
                    c.store,
                    c.source,
                ]
                for c in self.world.customers
                if c.created <= day
            ]
            write_csv_export(self.path("dms_customers", day, "customers.csv"), header, rows, "utf-8")

    def dms_staff(self) -> None:
        header = export_header("dms_staff")
        from samples.world import POSITIONS

        for day in self.snapshot_days():
            rows = []
            for s in self.world.staff:
                if s.hired > day:
                    continue
                store = s.moved_from if (s.moved_from and day < self.ends[-1]) else s.store
                left = s.left if s.left and s.left <= day else None
                rows.append(
                    [
                        s.staff_id,
                        s.name,
                        store,
                        s.department,
                        POSITIONS[s.department],
                        s.hired.isoformat(),
                        left.isoformat() if left else "",
                    ]
                )
            write_csv_export(self.path("dms_staff", day, "staff.csv"), header, rows, "utf-8")

    def monthly_delta(self, feed: str, suffix: str, header: list[str], records: list, day_of, render) -> None:
        for end in self.ends:
            begin = end.replace(day=1)
            rows = [render(r) for r in records if begin <= day_of(r) <= end]
            write_csv_export(self.path(feed, end, suffix), header, rows, "utf-8")

    def dms_deltas(self) -> None:
        self.monthly_delta(
            "dms_followups",
            "followups.csv",
            [
                "记录编号",
                "车架号",
                "原保单号",
                "跟进日期",
                "跟进方式",
                "跟进人工号",
                "跟进结果",
                "战败原因",
                "报价金额",
            ],
            self.world.followups,
            lambda f: f.day,
            lambda f: [
                f.record_no,
                f.vin,
                f.policy_no,
                f.day.isoformat(),
                f.channel,
                f.staff,
                f.result,
                f.lost_reason or "",
                money(f.quote) if f.quote else "",
            ],
        )
        self.monthly_delta(
            "dms_leads",
            "leads.csv",
            export_header("dms_leads"),
            self.world.leads,
            lambda lead: lead.day,
            lambda lead: [
                lead.lead_no,
                lead.day.isoformat(),
                lead.store,
                lead.department,
                lead.referrer,
                lead.vehicle.vin,
                lead.vehicle.customer.customer_id,
                lead.wanted,
                lead.note,
            ],
        )
        self.monthly_delta(
            "dms_surveys",
            "surveys.csv",
            export_header("dms_surveys"),
            self.world.surveys,
            lambda s: s.day,
            lambda s: [
                s.survey_no,
                s.day.isoformat(),
                s.store,
                s.staff,
                s.business,
                str(s.score),
                "是" if s.complaint else "否",
            ],
        )

    def aftersales(self) -> None:
        insurance = InsuranceCells(self.world.policies)
        for index, end in enumerate(self.ends):
            later_version = with_insurance_columns(index, len(self.ends))
            header = export_header("aftersales_ro", with_optional=later_version)
            begin = end.replace(day=1)
            rows = []
            for ro in self.world.repair_orders:
                opened_now = begin <= ro.opened <= end
                settled_now = ro.settled is not None and begin <= ro.settled <= end and ro.opened < begin
                if not (opened_now or settled_now):
                    continue
                settled = ro.settled if ro.settled and ro.settled <= end else None
                rows.append(
                    [
                        ro.ro_no,
                        ro.store,
                        ro.vehicle.vin,
                        ro.vehicle.plate or "",
                        ro.opened.isoformat(),
                        settled.isoformat() if settled else "",
                        ro.kind,
                        money(ro.labour),
                        money(ro.parts),
                        money(ro.labour + ro.parts),
                        ro.advisor,
                        "Y" if ro.claim else "N",
                        ro.claim.policy.insurer if ro.claim else "",
                        ro.claim.claim_no if ro.claim else "",
                        *(insurance.cells(ro) if later_version else []),
                    ]
                )
            if index == 4 and rows:
                bad = list(rows[0])
                bad[0], bad[7] = bad[0] + "X", "abc"
                rows.append(bad)
            if later_version:
                plant_not_a_date(rows, index, len(self.ends))
            write_csv_export(self.path("aftersales_ro", end, "repair_orders.csv"), header, rows, "gbk")

    def finance_targets(self) -> None:
        header = export_header("finance_targets")
        for day in self.snapshot_days():
            path = self.path("finance_targets", day, "targets.xlsx")
            book = self.workbook(path, day)
            sheet = book.add_worksheet("目标")
            sheet.write_row(0, 0, header)
            targets = [t for t in self.world.targets if t.month <= day]
            for row, t in enumerate(targets, start=1):
                sheet.write_row(
                    row,
                    0,
                    [
                        f"{t.month:%Y-%m}",
                        t.store,
                        t.staff or "",
                        t.premium / 100,
                        t.policies,
                        t.renewal_rate,
                        t.penetration_rate,
                        t.retention_rate,
                    ],
                )
            book.close()

    def write_all(self) -> list[Path]:
        self.picc()
        self.paic()
        self.cpic()
        self.claims()
        self.dms_sales()
        self.dms_customers()
        self.dms_staff()
        self.dms_deltas()
        self.aftersales()
        self.finance_targets()
        return self.files
