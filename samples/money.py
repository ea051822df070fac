"""Sample exports of the money feeds: insurers' commission statements and the DMS renewal-gift log.

Statements (`insurer_settlements`): one XLSX per insurer and settlement month M, exported on day 10 of M, settling
the transactions signed in the month before M. Planted on purpose so that reconciliation shows every status:
a row at another commission rate (rate_mismatch), a row with another amount (amount_mismatch), a 暂扣 and a
拒付 row (withheld), an omitted issue and an omitted cancellation clawback (missing), a row for a policy never
exported (not_in_exports), and one statement re-issued later in its month with two rows corrected (the newest
export wins). Transactions signed after the last statement's month stay unsettled.

Gifts (`dms_gifts`): a gift package for most renewals, at the band's standard cost, some over-spent, handed out
within 10 days of signing; one record is corrected in the next month's file (same 发放编号).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ingestion.feeds import export_header
from samples.exports import CPIC_COLUMNS, ExportWriter, events_by_month, money, write_csv_export
from samples.world import INSURERS, Policy, add_months

VAT = Decimal("1.06")
CENT = Decimal("0.01")
STATEMENT_DAY = 10  # statements are exported on this day of their settlement month
# (commercial premium from, commission, gift cost): the renewal commission bands of the metrics spec
GIFT_BANDS = ((0, 50), (2_000, 80), (3_000, 140), (4_000, 198), (5_000, 280), (6_000, 350))


def line_commission(cents: int, rate: float) -> Decimal:
    """The warehouse's commission of one exported coverage line: premium / 1.06 × rate, to the cent."""
    return (Decimal(cents) / 100 / VAT * Decimal(str(rate))).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class StatementRow:
    policy_no: str
    txn_no: str
    policy_class: str  # 交强险 / 商业险
    premium: Decimal
    rate: float
    commission: Decimal
    status: str = "已结算"
    note: str = ""

    def cells(self, statement_no: str, insurer: str, month: date) -> list:
        return [
            statement_no,
            insurer,
            f"{month:%Y-%m}",
            self.policy_no,
            self.txn_no or None,
            self.policy_class,
            float(self.premium),
            self.rate,
            float(self.commission),
            self.status,
            self.note or None,
        ]


def class_rows(insurer: str, policy: Policy, txn_no: str, lines: dict[str, int]) -> list[StatementRow]:
    """The statement rows of one transaction, one per class, with the commission the export implies."""
    by_class: dict[str, list[tuple[str, int]]] = defaultdict(list)
    if insurer == "CPIC":  # the export sums driver and passenger seats in one column: one line
        wide: dict[str, int] = defaultdict(int)
        for code, cents in lines.items():
            wide[CPIC_COLUMNS[code]] += cents
        items = [("CTP" if column == CPIC_COLUMNS["CTP"] else column, cents) for column, cents in wide.items()]
    else:
        items = list(lines.items())
    for code, cents in items:
        by_class["交强险" if code == "CTP" else "商业险"].append((code, cents))
    rows = []
    for policy_class, class_lines in by_class.items():
        # PAIC exports a rate per line; PICC and CPIC one rate per row (the policy's only rate)
        rate = policy.rates.get(class_lines[0][0], next(iter(policy.rates.values())))
        premium = Decimal(sum(c for _, c in class_lines)) / 100
        commission = sum((line_commission(c, rate) for _, c in class_lines), Decimal("0"))
        if premium != 0:
            rows.append(StatementRow(policy.policy_no, txn_no, policy_class, premium, rate, commission))
    return rows


class MoneyExports:
    def __init__(self, writer: ExportWriter, seed: int) -> None:
        self.writer = writer
        self.world = writer.world
        self.rng = random.Random(seed + 19)

    def statement_rows(self, insurer: str, sign_end: date) -> list[StatementRow]:
        by_month = events_by_month(self.world, insurer, self.writer.ends)
        rows = []
        for event in by_month.get(sign_end, []):
            rows.extend(class_rows(insurer, event.policy, event.txn.txn_no if event.txn else "", event.lines))
        return rows

    def plant(self, rows: list[StatementRow], insurer: str, month: date) -> list[StatementRow]:
        """Break a few rows the way real statements differ from what the exports imply."""
        if len(rows) < 12:
            return rows
        issues = [r for r in rows if not r.txn_no and r.commission > 50]
        picks = self.rng.sample(issues, 5)
        rate_row, amount_row, held_row, refused_row, dropped = picks
        rate_row.rate = round(rate_row.rate - 0.02, 2)
        rate_row.commission = (rate_row.premium / VAT * Decimal(str(rate_row.rate))).quantize(CENT, ROUND_HALF_UP)
        amount_row.commission -= Decimal("12.34")
        amount_row.note = "扣减服务费"
        held_row.status, held_row.note = "暂扣", "资料不全暂扣"
        refused_row.status, refused_row.note = "拒付", "非合作渠道拒付"
        kept = [r for r in rows if r is not dropped]
        clawbacks = [r for r in kept if r.txn_no and r.commission < 0]
        if clawbacks:  # the insurer never books this cancellation's clawback
            kept.remove(clawbacks[0])
        prefix = rows[0].policy_no[:8]
        kept.append(StatementRow(f"{prefix}{month:%m}99999", "", "商业险", Decimal("3180.00"), 0.2, Decimal("600.00")))
        return kept

    def write_statement(self, insurer: str, month: date, export: date, rows: list[StatementRow], suffix: str) -> None:
        path = self.writer.path("insurer_settlements", export, f"{insurer.lower()}_{suffix}.xlsx")
        book = self.writer.workbook(path, export)
        sheet = book.add_worksheet("结算明细")
        sheet.write_row(0, 0, export_header("insurer_settlements"))
        statement_no = f"JS{insurer}{month:%Y%m}"
        for index, row in enumerate(rows, start=1):
            sheet.write_row(index, 0, row.cells(statement_no, insurer, month))
        book.close()

    def settlements(self) -> None:
        ends = self.writer.ends
        as_of = self.world.as_of
        for insurer in INSURERS:
            for index in range(1, len(ends)):
                month = ends[index].replace(day=1)
                export = month.replace(day=STATEMENT_DAY)
                if export > as_of:
                    continue
                rows = self.plant(self.statement_rows(insurer, ends[index - 1]), insurer, month)
                reissue = month.replace(day=25)
                if index == len(ends) - 3 and reissue <= as_of:
                    # the first version had a wrong amount and a row held; the re-issue corrects both
                    settled = [r for r in rows if r.status == "已结算" and not r.txn_no and not r.note]
                    wrong, held = settled[0], settled[1]
                    first = [
                        StatementRow(**{**vars(r), "commission": r.commission + Decimal("100.00")})
                        if r is wrong
                        else StatementRow(**{**vars(r), "status": "暂扣", "note": "待核"})
                        if r is held
                        else r
                        for r in rows
                    ]
                    self.write_statement(insurer, month, export, first, f"statement_{month:%Y%m}")
                    self.write_statement(insurer, month, reissue, rows, f"statement_{month:%Y%m}_corrected")
                else:
                    self.write_statement(insurer, month, export, rows, f"statement_{month:%Y%m}")

    def gifts(self) -> None:
        as_of = self.world.as_of
        records = []
        terms: dict[tuple[str, date], list[Policy]] = defaultdict(list)
        for policy in self.world.policies:
            if policy.business == "renewal" and policy.sign >= self.world.start:
                terms[(policy.vehicle.vin, policy.sign)].append(policy)
        for key in sorted(terms):
            # the term's main policy: the one with commercial lines, else the compulsory one
            policy = max(terms[key], key=lambda p: (not p.compulsory_only, p.policy_no))
            if self.rng.random() > 0.6:
                continue
            commercial = sum(c for code, c in policy.lines.items() if code != "CTP") / 100
            standard = next(cost for low, cost in reversed(GIFT_BANDS) if commercial >= low)
            cost = standard + (self.rng.choice((30, 60, 120)) if self.rng.random() < 0.15 else 0)
            handed = policy.sign + timedelta(days=self.rng.randint(0, 10))
            if handed > as_of:
                continue
            number = f"G{len(records) + 1:07d}"
            records.append(
                [number, handed, policy.store, policy.vehicle.vin, policy.policy_no, cost, policy.staff, standard]
            )
        header = export_header("dms_gifts")
        ends = self.writer.ends
        for index, end in enumerate(ends):
            begin = end.replace(day=1)
            rows = [
                [g[0], g[1].isoformat(), g[2], g[3], g[4], f"续保礼包{g[7]}", money(g[5] * 100), g[6]]
                for g in records
                if begin <= g[1] <= end
            ]
            if index > 0:  # last month's first record, corrected: its cost was keyed in wrong
                previous = [g for g in records if add_months(begin, -1) <= g[1] < begin]
                if previous:
                    g = previous[0]
                    g[5] += 20
                    rows.append([g[0], g[1].isoformat(), g[2], g[3], g[4], f"续保礼包{g[7]}", money(g[5] * 100), g[6]])
            write_csv_export(self.writer.path("dms_gifts", end, "gifts.csv"), header, rows, "utf-8")

    def write_all(self) -> None:
        self.settlements()
        self.gifts()
