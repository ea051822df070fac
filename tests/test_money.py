"""Money the finance controller closes the month on: commission reconciliation, profit, the insurer scorecard and
the half-year plan, on a hand-made dealer group through the real ingestion, dbt build and GX gate.

Every expected figure is computed by hand from the rules (dbt_project/docs/money.md) in the comment next to it.
As-of date 2026-07-15. Commission = premium / 1.06 × rate, so premiums are multiples of 1.06 × 5 to keep cents round.

PICC policies of store S01 (commercial, 车损险 unless said, rate 20%) and the June statement JSPICC202606
(结算月份 2026-06, exported 2026-06-10, re-issued 2026-06-25):
  P1  1,060.00 signed 05-10 → expected 200.00; statement 已结算 200.00 at 0.20 → matched
  P2  2,120.00 signed 05-11 → 400.00; statement 0.18 → 2,120 / 1.06 × 0.18 = 360.00 → rate_mismatch (−40.00)
  P3    530.00 signed 05-12 (车上人员险) → 100.00; statement 90.00 at 0.20 → amount_mismatch (−10.00)
  P4  1,590.00 signed 05-13 → 300.00; statement 暂扣 300.00 → withheld (settled 0, withheld 300.00)
  P5  1,060.00 signed 05-14 → 200.00 matched; its cancellation C5 −530.00 signed 05-20 → −100.00, never booked
      on a statement although June's came → missing (difference +100.00)
  P6  1,060.00 signed 05-15 → 200.00; first version of the statement 150.00, the re-issue 200.00 → matched
  P7  1,060.00 signed 06-20 → 200.00; no statement for a month after June → unsettled
  P8  1,060.00 signed 05-16 → 200.00; on no statement, June's came → missing
  P999 is on the statement (已结算 50.00) and in no export → not_in_exports, month 2026-06 (the statement month)
  R10 3,180.00 signed 2025-06-01, term to 2026-06-01, renewed by R11 3,180.00 signed 2026-05-20: both 600.00, matched
  R12 2,120.00 signed 2025-04-20, term to 2026-04-20, renewed by R13 2,120.00 signed 2026-04-15 (on no statement)
CPIC policy C1 of store S02: 3,650.00 车损险 signed 2026-05-10, cover 2026-05-17 … 2027-05-16 (365 days).
"""

from __future__ import annotations

import os
import stat
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import psycopg
import pytest
import xlsxwriter

from expectations.runner import run_mart_checkpoint
from ingestion.feeds import export_header
from ingestion.loader import ingest_inbox
from pipeline.published import published_models, read_manifest
from reports.disputes import STATUS_SHEETS, TOTAL_LABEL, weekly_dispute_workbooks, write_dispute_workbook
from tests.conftest import query, scalar
from tests.exports import CPIC_HEADER, PICC_HEADER, picc_row, write_csv
from tests.test_metrics_scenario import can_read, login_as

AS_OF = date(2026, 7, 15)
D = Decimal
SETTLEMENT_HEADER = export_header("insurer_settlements")
GIFT_HEADER = export_header("dms_gifts")
ORGANISATION_ID = "91440300MA5F000012"  # 18 characters, not a personal ID number: a unified social credit code


def vin(n: int) -> str:
    return f"LSVMNEY{n:010d}"


def by_header(header: list[str], **cells: str) -> list[str]:
    return [cells.get(h, "") for h in header]


def write_xlsx(path: Path, sheet: str, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    worksheet = book.add_worksheet(sheet)
    worksheet.write_row(0, 0, header)
    for index, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if isinstance(value, datetime):
                worksheet.write_datetime(index, col, value, book.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
            elif value is not None and value != "":
                worksheet.write(index, col, value)
    book.close()


def statement_row(policy: str, amount: float, rate: float = 0.2, status: str = "已结算", endorsement: str = "") -> list:
    premium = round(amount / rate * 1.06, 2)
    return ["JSPICC202606", "PICC", "2026-06", policy, endorsement, "商业险", premium, rate, amount, status, ""]


def picc(number: str, v: int, premium: str, sign: str, **kw) -> list[str]:
    start = kw.pop("start", None) or sign
    end = kw.pop("end", None) or f"{int(sign[:4]) + 1}{sign[4:]}"
    return picc_row(number, vin(v), premium, sign=sign, start=start, end=end, **kw)


def build_inbox(inbox: Path) -> None:
    p4 = picc("P4", 4, "1590.00", "2026-05-13")
    p4[PICC_HEADER.index("证件号码")] = ORGANISATION_ID  # no DMS customer: an organisation by its ID's shape
    rows_2025 = [
        picc("R10", 10, "3180.00", "2025-06-01", start="2025-06-02", end="2026-06-01"),
        picc("R12", 12, "2120.00", "2025-04-20", start="2025-04-21", end="2026-04-20"),
    ]
    rows_2026 = [
        picc("P1", 1, "1060.00", "2026-05-10"),
        picc("P2", 2, "2120.00", "2026-05-11"),
        picc("P3", 3, "530.00", "2026-05-12", detail="车上人员险(司机):530.00"),
        p4,
        picc("P5", 5, "1060.00", "2026-05-14", start="2026-05-15", end="2027-05-14"),
        picc(
            "P5", 5, "-530.00", "2026-05-20", start="2026-05-15", end="2027-05-14",
            endorsement="C5", change="退保", detail="车损险:-530.00",
        ),
        picc("P6", 6, "1060.00", "2026-05-15"),
        picc("P7", 7, "1060.00", "2026-06-20"),
        picc("P8", 8, "1060.00", "2026-05-16"),
        picc("R11", 10, "3180.00", "2026-05-20", start="2026-06-02", end="2027-06-01", previous="R10"),
        picc("R13", 12, "2120.00", "2026-04-15", start="2026-04-21", end="2027-04-20", previous="R12"),
    ]  # fmt: skip
    write_csv(inbox / "insurer_picc" / "20251231_picc.csv", PICC_HEADER, rows_2025, "gbk")
    write_csv(inbox / "insurer_picc" / "20260630_picc.csv", PICC_HEADER, rows_2026, "gbk")
    cpic = by_header(
        CPIC_HEADER,
        POLICY_NO="ASZZ1",
        TXN="NEW",
        车损险保费="3650.00",
        车船税="0",
        手续费率="0.20",
        SIGN_DATE="20260510",
        START_DATE="20260517",
        END_DATE="20270516",
        VIN=vin(20),
        OWNER="李四",
        OWNER_ID="440304198505051234",
        SALES_CODE="E0003",
        DEALER_CODE="S02",
    )
    write_csv(inbox / "insurer_cpic" / "20260630_cpic.csv", CPIC_HEADER, [cpic], "utf-8-sig", ";")

    # the June statement, then its re-issue: P6 corrected from 150.00 to 200.00 (the newest export wins)
    june = [
        statement_row("P1", 200.00),
        statement_row("P2", 360.00, rate=0.18),
        statement_row("P3", 90.00),
        statement_row("P4", 300.00, status="暂扣"),
        statement_row("P5", 200.00),
        statement_row("P6", 150.00),
        statement_row("P999", 50.00),
        statement_row("R10", 600.00),
        statement_row("R11", 600.00),
    ]
    folder = inbox / "insurer_settlements"
    write_xlsx(folder / "20260610_picc_statement.xlsx", "结算明细", SETTLEMENT_HEADER, june)
    reissued = [statement_row("P6", 200.00) if row[3] == "P6" else row for row in june]
    write_xlsx(folder / "20260625_picc_statement_corrected.xlsx", "结算明细", SETTLEMENT_HEADER, reissued)

    claims = export_header("insurer_claims")
    write_xlsx(
        inbox / "insurer_claims" / "20260630_claims.xlsx",
        "理赔清单",
        claims,
        [
            # May: paid 75.00 (estimate 100.00): incurred 75.00; recommended nowhere
            ["CL1", "ASZZ1", "CPIC", "", vin(20), datetime(2026, 5, 30, 9), datetime(2026, 5, 31, 10), "追尾",
             100.0, 75.0, "已结案", ""],
            # June: open, estimate 900.00 is incurred; recommended to S01 (one of ours)
            ["CL2", "ASZZ1", "CPIC", "", vin(20), datetime(2026, 6, 2, 9), datetime(2026, 6, 3, 10), "倒车",
             900.0, None, "已定损", "S01"],
        ],
    )  # fmt: skip

    sale = export_header("dms_sales")

    def order(no: str, v: int, customer: str, ordered: str, delivered: str, status: str) -> list[str]:
        return by_header(
            sale,
            订单号=no,
            门店代码="S01",
            销售顾问工号="E0101",
            客户编号=customer,
            车架号=vin(v),
            订车日期=ordered,
            交车日期=delivered,
            订单状态=status,
        )

    write_csv(
        inbox / "dms_sales" / "20260630_sales.csv",
        sale,
        [
            order("SO2", 2, "C2", "2026-04-01", "", "已订车"),  # P2's vehicle: customer C2 is a 单位
            order("SO8", 8, "C8", "2026-05-01", "2026-05-10", "已交车"),  # P8 signed 05-16: new_car
            order("SO9", 9, "C9", "2026-05-01", "2026-05-12", "已交车"),  # delivered, never insured here
            order("SO10", 10, "C10", "2025-04-01", "2025-04-20", "已交车"),
        ],
        "utf-8",
    )
    customers = export_header("dms_customers")
    write_csv(
        inbox / "dms_customers" / "20260630_customers.csv",
        customers,
        [
            by_header(customers, 客户编号="C2", 客户名称="某某贸易有限公司", 客户类型="单位", 客户来源="展厅"),
            by_header(customers, 客户编号="C8", 客户名称="王五", 客户类型="个人", 客户来源="展厅"),
            by_header(customers, 客户编号="C9", 客户名称="赵六", 客户类型="个人", 客户来源="展厅"),
            by_header(customers, 客户编号="C10", 客户名称="钱七", 客户类型="个人", 客户来源="展厅"),
        ],
        "utf-8",
    )
    staff = export_header("dms_staff")
    write_csv(
        inbox / "dms_staff" / "20260630_staff.csv",
        staff,
        [
            by_header(staff, 工号="E0001", 姓名="王伟", 门店代码="S01", 部门="保险部", 入职日期="2020-01-01"),
            by_header(staff, 工号="E0003", 姓名="张敏", 门店代码="S02", 部门="保险部", 入职日期="2020-01-01"),
            # seed lagging_item_owners: E0004 answers for S01's new-car premium share
            by_header(staff, 工号="E0004", 姓名="赵敏", 门店代码="S01", 部门="保险部", 入职日期="2020-01-01"),
            by_header(staff, 工号="E0101", 姓名="刘强", 门店代码="S01", 部门="销售部", 入职日期="2020-01-01"),
        ],
        "utf-8",
    )
    repair = export_header("aftersales_ro")
    write_csv(
        inbox / "aftersales_ro" / "20260630_ro.csv",
        repair,
        [  # C10's vehicle spends 5,000.00 here: with R11's 3,180.00 premium, 8,180.00 ≥ 8,000 and no claim → tier A
            by_header(
                repair, 工单号="RO1", 门店代码="S01", 车架号=vin(10), 进厂日期="2026-03-01", 结算日期="2026-03-02",
                业务类型="一般维修", 工时费="1000.00", 材料费="4000.00", 合计金额="5000.00", 服务顾问工号="E0001",
                是否保险理赔="N",
            )
        ],
        "gbk",
    )  # fmt: skip
    # gifts: G1 for R11 (band 3,000-4,000: standard 140.00) first keyed 180.00, corrected to 200.00 in a later file;
    # G2 for P1, which renews nothing here (standard 0.00)
    gift = lambda no, day, policy, v, cost: [no, day, "S01", vin(v), policy, "续保礼包", cost, "E0001"]  # noqa: E731
    write_csv(
        inbox / "dms_gifts" / "20260531_gifts.csv",
        GIFT_HEADER,
        [gift("G1", "2026-05-25", "R11", 10, "180.00"), gift("G2", "2026-05-26", "P1", 1, "50.00")],
        "utf-8",
    )
    write_csv(
        inbox / "dms_gifts" / "20260630_gifts.csv",
        GIFT_HEADER,
        [gift("G1", "2026-05-25", "R11", 10, "200.00")],
        "utf-8",
    )


@pytest.fixture(scope="module")
def money(scenario_warehouse):
    warehouse = scenario_warehouse("money_marts", build_inbox, AS_OF)
    return {
        "url": warehouse.url,
        "settings": warehouse.settings,
        "ingested": warehouse.ingested,
        "home": warehouse.home,
    }


def test_every_money_row_loaded(money):
    feeds = money["ingested"]["feeds"]
    assert all(f["rows_rejected"] == 0 and f["failed"] == 0 for f in feeds.values()), feeds
    assert feeds["insurer_settlements"]["rows_loaded"] == 18  # 9 rows, twice (the re-issue repeats every row)
    assert feeds["dms_gifts"]["rows_loaded"] == 3


def settlement(url: str) -> dict[tuple[str, str], tuple]:
    rows = query(
        url,
        "select policy_no, txn_no, status, expected_commission, settled_commission, withheld_commission, difference, "
        "month from marts.fct_commission_settlement where insurer_code = 'PICC'",
    )
    return {(r[0], r[1]): r[2:] for r in rows}


def test_every_status_by_hand(money):
    rows = settlement(money["url"])
    may, june = date(2026, 5, 1), date(2026, 6, 1)
    assert rows[("P1", "0")] == ("matched", D("200.00"), D("200.00"), D("0.00"), D("0.00"), may)
    assert rows[("P2", "0")] == ("rate_mismatch", D("400.00"), D("360.00"), D("0.00"), D("-40.00"), may)
    assert rows[("P3", "0")] == ("amount_mismatch", D("100.00"), D("90.00"), D("0.00"), D("-10.00"), may)
    assert rows[("P4", "0")] == ("withheld", D("300.00"), D("0.00"), D("300.00"), D("-300.00"), may)
    assert rows[("P5", "0")] == ("matched", D("200.00"), D("200.00"), D("0.00"), D("0.00"), may)
    # the clawback never booked: −530.00 / 1.06 × 0.20 = −100.00 expected, nothing settled
    assert rows[("P5", "C5")] == ("missing", D("-100.00"), D("0.00"), D("0.00"), D("100.00"), may)
    # the re-issued statement's 200.00 replaces the first version's 150.00
    assert rows[("P6", "0")] == ("matched", D("200.00"), D("200.00"), D("0.00"), D("0.00"), may)
    assert rows[("P7", "0")] == ("unsettled", D("200.00"), D("0.00"), D("0.00"), D("-200.00"), june)
    assert rows[("P8", "0")] == ("missing", D("200.00"), D("0.00"), D("0.00"), D("-200.00"), may)
    assert rows[("P999", "0")] == ("not_in_exports", D("0.00"), D("50.00"), D("0.00"), D("50.00"), june)
    assert rows[("R10", "0")][:3] == ("matched", D("600.00"), D("600.00"))
    # R13 signed in April, R12 in 2025-04: on no statement, June's came after → missing
    assert rows[("R13", "0")][0] == rows[("R12", "0")][0] == "missing"
    # CPIC sent no statement at all: its policy is not yet due
    assert scalar(money["url"], "select status from marts.fct_commission_settlement where policy_no = 'ASZZ1'") == (
        "unsettled"
    )


def test_reconciliation_month_by_hand(money):
    rows = query(
        money["url"],
        "select month, expected_commission, settled_commission, withheld_commission, difference, matched_count, "
        "rate_mismatch_count, amount_mismatch_count, withheld_count, missing_count, unsettled_count, "
        "not_in_exports_count from marts.rpt_commission_reconciliation_monthly where insurer_code = 'PICC' "
        "and month >= '2026-05-01' order by month",
    )
    # May: expected 200 + 400 + 100 + 300 + 200 − 100 + 200 + 200 (P8) + 600 (R11) = 2,100.00;
    # settled 200 + 360 + 90 + 200 + 200 + 600 = 1,650.00; withheld 300.00; difference −450.00;
    # matched P1, P5, P6, R11 = 4; rate 1; amount 1; withheld 1; missing C5 and P8 = 2
    assert rows[0] == (date(2026, 5, 1), D("2100.00"), D("1650.00"), D("300.00"), D("-450.00"), 4, 1, 1, 1, 2, 0, 0)
    # June: P7 unsettled (200.00 expected) and P999 (50.00 settled, statement month): difference −150.00
    assert rows[1] == (date(2026, 6, 1), D("200.00"), D("50.00"), D("0.00"), D("-150.00"), 0, 0, 0, 0, 0, 1, 1)


def test_renewal_type_on_the_fact(money):
    types = dict(query(money["url"], "select distinct policy_no, renewal_type from marts.fct_policy_transactions"))
    # R11 renews R10 (signed 2026-05-20, due 2026-06-01: within −90/+30 days); P8's VIN was delivered by S01 on
    # 05-10, six days before signing, and never insured here before → new_car; the rest were never here → transfer_in
    assert types["R11"] == types["R13"] == "renewal"
    assert types["P8"] == "new_car"
    assert types["P1"] == types["P5"] == "transfer_in"


def test_gift_costs_overspend_and_true_profit(money):
    row = query(
        money["url"],
        "select commission_income, commission_settled, renewal_commissions, gift_costs, standard_gift_costs, "
        "gift_overspend, insurance_profit from marts.rpt_store_profit_monthly "
        "where store_code = 'S01' and month = '2026-05-01'",
    )[0]
    # actual: G1 200.00 (corrected from 180.00) + G2 50.00 = 250.00; standard: R11's band (3,180.00 commercial:
    # 3,000-4,000) 140.00 + nothing for P1 = 140.00; over-spend 110.00. Income (expected) 2,100.00 as reconciled,
    # settled 1,650.00 beside it; renewal commission of R11's band 20.00; profit 2,100 − 20 − 250 = 1,830.00
    assert row == (D("2100.00"), D("1650.00"), D("20.00"), D("250.00"), D("140.00"), D("110.00"), D("1830.00"))


def test_scorecard_loss_ratio_over_a_month_boundary(money):
    rows = query(
        money["url"],
        "select month, premium, commission_amount, commission_rate_effective, earned_premium, incurred_claims, "
        "loss_ratio, claims_count, claims_recommended_here, recommend_rate from marts.rpt_insurer_scorecard_monthly "
        "where insurer_code = 'CPIC' and month in ('2026-05-01', '2026-06-01') order by month",
    )
    # 3,650.00 over 365 days = 10.00 a day. May: cover 17-31 = 15 days → earned 150.00; incurred: CL1 paid 75.00
    # → loss ratio 0.5. June: 30 days → 300.00; CL2 open, its estimate 900.00 → 3.0. Commission
    # 3,650 / 1.06 × 0.20 = 688.679 → 688.68, effective rate 688.68 / 3,443.40 = 0.2000
    assert rows[0] == (
        date(2026, 5, 1),
        D("3650.00"),
        D("688.68"),
        D("0.2000"),
        D("150.00"),
        D("75.00"),
        D("0.5000"),
        1,
        0,
        D("0"),
    )
    assert rows[1] == (
        date(2026, 6, 1),
        D("0.00"),
        D("0.00"),
        None,
        D("300.00"),
        D("900.00"),
        D("3.0000"),
        1,
        1,
        D("1"),
    )


def test_scorecard_renewals_of_the_insurers_expiring_policies(money):
    row = query(
        money["url"],
        "select policies, premium_renewal, due_count, renewed_count, renewed_same_insurer_count, renewal_rate "
        "from marts.rpt_insurer_scorecard_monthly where insurer_code = 'PICC' and month = '2026-06-01'",
    )[0]
    # June: P7 is the only main policy signed; R10 (PICC) due 06-01, renewed here by R11 at PICC
    assert row == (1, D("0.00"), 1, 1, 1, D("1.0000"))


def plan(url: str, store: str, month: str) -> dict[str, tuple]:
    rows = query(
        url,
        "select metric, value, target_low, status from marts.rpt_plan_tracking_monthly "
        "where store_code = %s and month = %s",
        (store, month),
    )
    return {r[0]: r[1:] for r in rows}


def test_plan_metrics_by_hand(money):
    may = plan(money["url"], "S01", "2026-05-01")
    # S01 premium signed in May: 1,060 + 2,120 + 530 + 1,590 + 1,060 − 530 + 1,060 + 1,060 (P8) + 3,180 (R11)
    # = 11,130.00. new_car: P8 1,060 → 0.0952 (below 40%: lagging)
    assert may["new_car_premium_share"] == (D("0.0952"), D("0.4000"), "lagging")
    # renewal premium: May R11 3,180, April R13 2,120 → 3,180 / 2,120 − 1 = 0.5 (above 15%: on track)
    assert may["renewal_premium_growth"] == (D("0.5000"), D("0.1500"), "on_track")
    # 车损险 + 三者险: all but P3's 车上人员险 530 → 10,600 / 11,130 = 0.9524
    assert may["high_value_coverage_share"] == (D("0.9524"), D("0.6000"), "on_track")
    # organisations: P2 (DMS customer C2 is a 单位) 2,120 + P4 (no DMS customer, ID of a unified social credit
    # code's shape) 1,590 = 3,710 / 11,130 = 0.3333
    assert may["organisation_premium_share"] == (D("0.3333"), D("0.2500"), "on_track")
    # delivered in May: V8 (insured here, P8) and V9 (not) → 1 / 2 = 0.5 (below 85%: lagging)
    assert may["penetration_rate"] == (D("0.5000"), D("0.8500"), "lagging")
    # tier A: R10 due 06-01, its customer C10 is tier A (8,180.00 spend, no claim), renewed → 1 / 1
    assert plan(money["url"], "S01", "2026-06-01")["tier_a_renewal_rate"] == (D("1.0000"), D("0.9200"), "on_track")
    # the group: new_car 1,060 of 11,130 + 3,650 (S02's CPIC policy) = 14,780 → 0.0717
    assert plan(money["url"], "ALL", "2026-05-01")["new_car_premium_share"][0] == D("0.0717")


def test_organisation_by_dms_type_and_by_id_shape(money):
    rows = dict(
        (policy, (flag, how))
        for policy, flag, how in query(
            money["url"],
            "select policy_no, is_organisation, classified_by from intermediate.int_policy_customers_classified",
        )
    )
    assert rows["P2"] == (True, "dms_customer")  # C2's 客户类型 单位
    assert rows["P4"] == (True, "id_number_shape")  # 91440300MA5F000012
    assert rows["P1"] == (False, "id_number_shape")  # 440304199001011234: a personal ID, born 1990-01-01
    assert rows["P8"] == (False, "dms_customer")  # C8 个人


def test_marts_gate_reconciles_the_money_marts(money):
    url = money["url"]
    published = published_models(read_manifest(money["settings"]))  # the public models of dbt's manifest
    assert run_mart_checkpoint(url, "money_gate", AS_OF, published).success
    with psycopg.connect(url, autocommit=True) as conn:  # one cent settled that no statement row holds
        conn.execute(
            "update marts.fct_commission_settlement set settled_commission = settled_commission + 0.01 "
            "where policy_no = 'P1'"
        )
    try:
        result = run_mart_checkpoint(url, "money_gate_broken", AS_OF, published)
        assert not result.success
        assert any("fct_commission_settlement" in failure for failure in result.failed_critical)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "update marts.fct_commission_settlement set settled_commission = settled_commission - 0.01 "
                "where policy_no = 'P1'"
            )


def test_dispute_workbook_ties_to_the_mart(money, tmp_path):
    url = money["url"]
    with psycopg.connect(url) as conn:
        path = write_dispute_workbook(conn, "PICC", date(2026, 5, 1), tmp_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert not [p for p in path.parent.iterdir() if p != path]  # no temporary file left behind
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["汇总", *[title for _, title in STATUS_SHEETS]]
    summary = list(book["汇总"].iter_rows(values_only=True))
    total = summary[-1]
    assert total[0] == TOTAL_LABEL
    mart = query(
        url,
        "select expected_commission, settled_commission, withheld_commission, difference "
        "from marts.rpt_commission_reconciliation_monthly where insurer_code = 'PICC' and month = '2026-05-01'",
    )[0]
    assert all(isinstance(cell, (int, float)) for cell in total[2:])  # typed numbers, not text
    assert [D(str(cell)).quantize(D("0.01")) for cell in total[3:]] == list(mart)  # 2,100 / 1,650 / 300 / −450
    assert total[2] == 9  # May's rows: 4 matched, 1 rate, 1 amount, 1 withheld, 2 missing
    missing = list(book["漏结"].iter_rows(values_only=True))
    # header, C5 (−100.00) and P8 (200.00), total 100.00 expected, 0 settled, −100.00 difference
    assert [row[:2] for row in missing[1:-1]] == [("P5", "C5"), ("P8", "0")]
    assert missing[-1][0] == TOTAL_LABEL and missing[-1][5:9] == (100, 0, 0, -100)


def test_weekly_dispute_workbooks_of_every_month_with_lines_to_chase(money, tmp_path):
    """The weekly run writes a workbook per insurer and month of the last 12 with a line that is neither matched nor
    unsettled (several months: written by worker processes). PICC: April 2026 (R13 missing), May (P2 rate, P3
    amount, P4 withheld, P5's clawback and P8 missing), June (P999 not in the exports). Not R12's 2025-04 (missing,
    but before the 12 months to 2026-07-15), not CPIC (ASZZ1 unsettled only)."""
    written = weekly_dispute_workbooks(money["url"], tmp_path, AS_OF)
    assert sorted(path.name for path in written) == [
        "手续费对账_PICC_2026-04.xlsx",
        "手续费对账_PICC_2026-05.xlsx",
        "手续费对账_PICC_2026-06.xlsx",
    ]
    may = openpyxl.load_workbook(tmp_path / "disputes" / "手续费对账_PICC_2026-05.xlsx")
    counts = {row[0]: row[2] for row in may["汇总"].iter_rows(min_row=2, values_only=True)}
    # May's lines: P1, P5, P6 matched; P2; P3; P4; P5's clawback and P8 missing (R11 signed 05-20 is matched: 600.00)
    assert (counts["rate_mismatch"], counts["amount_mismatch"], counts["withheld"], counts["missing"]) == (1, 1, 1, 2)


def test_finance_reads_the_reconciliation_and_bi_sees_no_commission(money):
    url = money["url"]
    with login_as(url, "bi_reader", "money_bi") as conn:
        for mart in ("fct_commission_settlement", "rpt_commission_reconciliation_monthly"):
            assert not can_read(conn, f"select * from marts.{mart}")
        assert not can_read(conn, "select commission_amount from marts.rpt_insurer_scorecard_monthly")
        assert can_read(conn, "select metric, value from bi.rpt_plan_tracking_monthly")
        assert can_read(conn, "select renewal_type from bi.fct_policy_transactions")
    with login_as(url, "finance", "money_finance") as conn:
        assert can_read(conn, "select settled_commission from marts.fct_commission_settlement")
        assert can_read(conn, "select * from marts.rpt_commission_reconciliation_monthly")
        assert can_read(conn, "select commission_settled from marts.rpt_insurer_scorecard_monthly")


# ---- bad statement files -------------------------------------------------------------------------------------
def test_bad_statement_files_fail_clearly_or_quarantine_rows(fresh_db, tmp_path):
    inbox = tmp_path / "inbox" / "insurer_settlements"
    renamed = ["手续费" if h == "手续费金额" else h for h in SETTLEMENT_HEADER]
    write_xlsx(inbox / "20260610_renamed.xlsx", "结算明细", renamed, [statement_row("P1", 200.00)])
    write_xlsx(inbox / "20260611_sheet.xlsx", "Sheet1", SETTLEMENT_HEADER, [statement_row("P1", 200.00)])
    bad_amount = statement_row("P2", 200.00)
    bad_amount[8] = "二百"
    unknown = statement_row("P3", 200.00)
    unknown[1] = "ZKIC"
    write_xlsx(
        inbox / "20260612_rows.xlsx", "结算明细", SETTLEMENT_HEADER, [statement_row("P1", 200.00), bad_amount, unknown]
    )
    results = {r.file: r for r in ingest_inbox(fresh_db, tmp_path / "inbox", tmp_path / "archive")}
    assert results["20260610_renamed.xlsx"].status == "failed"
    assert "手续费金额" in results["20260610_renamed.xlsx"].message
    assert results["20260611_sheet.xlsx"].status == "failed"
    assert results["20260611_sheet.xlsx"].message == "sheet '结算明细' not found; the workbook has: Sheet1"
    rows = results["20260612_rows.xlsx"]
    assert (rows.rows_loaded, rows.rows_rejected) == (1, 2)
    reasons = dict(query(fresh_db, "select row_number, reason from raw._rejects order by row_number"))
    assert reasons[3].startswith("手续费金额: '二百' is not an amount")
    assert "保险公司" in reasons[4] and "ZKIC" in reasons[4]
    assert query(fresh_db, "select policy_no, commission_amount::text from raw.insurer_settlements") == [
        ("P1", "200.00")
    ]


def test_weekly_report_plan_section_and_lagging_plan_items(money, tmp_path):
    from reports.weekly import build_weekly_report

    report = build_weekly_report(money["url"], date(2026, 5, 25), tmp_path)  # the week of 2026-05-18: May's plan
    book = openpyxl.load_workbook(report["workbook"])
    plan_rows = list(book["半年度计划跟踪"].iter_rows(values_only=True))
    s01 = {row[1]: row[2:] for row in plan_rows[1:] if row[0] == "深圳福田大众4S店"}  # S01 by its name
    assert s01["新保保费占比"] == (0.0952, 0.4, 0.5, "滞后")  # 1,060 / 11,130, as in test_plan_metrics_by_hand
    assert s01["单位/车队保费占比"] == (0.3333, 0.25, 0.3, "达标")
    lagging = [row for row in book["滞后项目"].iter_rows(values_only=True) if row[0] == "深圳福田大众4S店"]
    assert ("深圳福田大众4S店", "新保保费占比 9.5% < 40.0%", "保险部") in lagging
    assert ("深圳福田大众4S店", "新保渗透率 50.0% < 85.0%", "销售部") in lagging
    assert not any("单位/车队" in row[1] for row in lagging)  # on track: no lagging item


def ledger(url: str, store: str, metric: str, first: str, last: str) -> list[tuple]:
    return query(
        url,
        "select week_start, value, status, opened_week, due_week, weeks_open, owner_name, owner_department "
        "from marts.rpt_lagging_items where store_code = %s and metric = %s and week_start between %s and %s "
        "order by week_start",
        (store, metric, first, last),
    )


def test_lagging_items_ledger_by_hand(money):
    url = money["url"]
    d = date.fromisoformat
    # S01's plan penetration: no delivery in April 2026 (no value: not lagging); May 0.5 < 0.85 lags in every week
    # whose Monday is in May: opens 05-04 (new, due 05-18), open on 05-11 and on its due week 05-18, overdue 05-25;
    # June has no delivery: resolved in the week of 06-01 after 4 weeks open. Owner: no one named, so 销售部.
    rows = ledger(url, "S01", "plan_penetration_rate", "2026-04-27", "2026-06-08")
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in rows] == [
        (d("2026-05-04"), "new", d("2026-05-04"), d("2026-05-18"), 1),
        (d("2026-05-11"), "open", d("2026-05-04"), d("2026-05-18"), 2),
        (d("2026-05-18"), "open", d("2026-05-04"), d("2026-05-18"), 3),
        (d("2026-05-25"), "overdue", d("2026-05-04"), d("2026-05-18"), 4),
        (d("2026-06-01"), "resolved", d("2026-05-04"), d("2026-05-18"), 4),
    ]
    assert rows[0][1] == D("0.5000") and rows[0][6:] == (None, "销售部")
    # S01's new-car premium share: April's premium is R13's renewal alone (share 0 < 0.40), so the item opens in the
    # first week whose Monday is in April (04-06, due 04-20) and is overdue in May (0.0952 < 0.40); its owner is
    # named in seed lagging_item_owners
    [april, may] = [
        ledger(url, "S01", "plan_new_car_premium_share", day, day)[0] for day in ("2026-04-06", "2026-05-04")
    ]
    assert (april[2], april[3], april[4]) == ("new", d("2026-04-06"), d("2026-04-20"))
    assert (may[1], may[2], may[5], may[6], may[7]) == (D("0.0952"), "overdue", 5, "赵敏", "保险部")


def test_semantic_layer_answers_the_money_marts(money):
    """The insurer and plan metrics of the semantic layer equal the marts, on this module's scenario."""
    from pipeline.metrics import SemanticLayer
    from tests.test_semantic_layer import answer, mart

    saved = dict(os.environ)
    try:
        semantic = SemanticLayer(money["settings"], AS_OF)
        url = money["url"]
        by_insurer = ["insurer__insurer_code", "metric_time__month"]
        loss_ratio = answer(semantic, "loss_ratio", by_insurer)
        assert loss_ratio == mart(
            url,
            "select insurer_code, month, loss_ratio from marts.rpt_insurer_scorecard_monthly where earned_premium <> 0",
        )
        # by hand (test_scorecard_loss_ratio_over_a_month_boundary): CPIC May 75.00 / 150.00, June 900.00 / 300.00
        assert (loss_ratio[("CPIC", date(2026, 5, 1))], loss_ratio[("CPIC", date(2026, 6, 1))]) == (0.5, 3.0)
        # CPIC's whole history: Σ incurred ÷ Σ earned over its months, never the mean of the monthly ratios
        incurred, earned = query(
            url,
            "select sum(incurred_claims), sum(earned_premium) from marts.rpt_insurer_scorecard_monthly "
            "where insurer_code = 'CPIC'",
        )[0]
        whole = answer(semantic, "loss_ratio", ["insurer__insurer_code"])
        assert whole[("CPIC",)] == round(float(incurred / earned), 4)
        for metric, column in (
            ("expected_commission", "expected_commission"),
            ("settled_commission", "settled_commission"),
            ("withheld_commission", "withheld_commission"),
            ("commission_difference", "difference"),
        ):
            got = answer(semantic, metric, by_insurer)
            sql = f"select insurer_code, month, {column} from marts.rpt_commission_reconciliation_monthly"
            assert got == mart(url, sql), metric
        difference = answer(semantic, "commission_difference", by_insurer)
        # by hand (test_reconciliation_month_by_hand): PICC May 1,650.00 − 2,100.00, June 50.00 − 200.00
        assert (difference[("PICC", date(2026, 5, 1))], difference[("PICC", date(2026, 6, 1))]) == (-450.0, -150.0)
        # by the entity `store` itself: the group's rows (ALL) are in no dim_store row
        plan_value = answer(semantic, "plan_value", ["store", "metric_time__month", "plan_row__plan_metric"])
        assert plan_value == mart(url, "select store_code, month, metric, value from marts.rpt_plan_tracking_monthly")
        # by hand (test_plan_metrics_by_hand): S01 May new-car share 1,060 / 11,130 = 0.0952
        assert plan_value[("S01", date(2026, 5, 1), "new_car_premium_share")] == 0.0952
    finally:
        os.environ.clear()  # the layer exported this database's DW_PG_* for dbt's profile
        os.environ.update(saved)


@pytest.mark.slow  # an incremental build and a full rebuild of the incremental models (~60 s)
def test_incremental_build_after_new_statements_and_corrected_sales_orders(scenario_warehouse):
    """fct_commission_settlement is rebuilt per transaction (macros/incremental_customers.sql). On a copy of the money
    scenario, two statement files arrive and the next build is incremental:
      - JSPICC202606 re-issued a third time (exported 2026-07-10): P3 corrected from 90.00 to 100.00, and P999's row
        now names CPIC as its insurer (保险公司 is not part of a statement row's key: the row moves insurer);
      - July's statement JSPICC202607 (结算月份 2026-07) settles R13 at 400.00;
    and the DMS re-exports two sales orders (int_vehicles_attributed is rebuilt per VIN): SO9 (VIN 9) now names
    customer C10, SO2 is corrected from VIN 2 to VIN 3.
    Every figure below by hand; then a full rebuild of the incremental models ends where the incremental build ended.
    """
    from pipeline import steps
    from tests.test_metrics_scenario import assert_full_rebuild_ends_where_incremental_ended

    warehouse = scenario_warehouse("money_incremental", build_inbox, AS_OF)
    url, settings = warehouse.url, warehouse.settings
    folder = warehouse.home / "inbox" / "insurer_settlements"
    reissue = [
        ["JSPICC202606", "PICC", "2026-06", "P3", "", "商业险", 530.00, 0.2, 100.00, "已结算", ""],
        ["JSPICC202606", "CPIC", "2026-06", "P999", "", "商业险", 265.00, 0.2, 50.00, "已结算", ""],
    ]
    write_xlsx(folder / "20260710_picc_statement_reissued.xlsx", "结算明细", SETTLEMENT_HEADER, reissue)
    july = [["JSPICC202607", "PICC", "2026-07", "R13", "", "商业险", 2120.00, 0.2, 400.00, "已结算", ""]]
    write_xlsx(folder / "20260710_picc_statement_july.xlsx", "结算明细", SETTLEMENT_HEADER, july)
    sale = export_header("dms_sales")
    orders = [
        by_header(sale, 订单号="SO9", 门店代码="S01", 销售顾问工号="E0101", 客户编号="C10", 车架号=vin(9),
                  订车日期="2026-05-01", 交车日期="2026-05-12", 订单状态="已交车"),
        by_header(sale, 订单号="SO2", 门店代码="S01", 销售顾问工号="E0101", 客户编号="C2", 车架号=vin(3),
                  订车日期="2026-04-01", 交车日期="", 订单状态="已订车"),
    ]  # fmt: skip
    write_csv(warehouse.home / "inbox" / "dms_sales" / "20260710_sales_corrected.csv", sale, orders, "utf-8")
    customers = export_header("dms_customers")
    c8_corrected = [by_header(customers, 客户编号="C8", 客户名称="王五", 客户类型="单位", 客户来源="展厅")]
    write_csv(warehouse.home / "inbox" / "dms_customers" / "20260710_customers.csv", customers, c8_corrected, "utf-8")
    ingested = steps.ingest("money_incremental", AS_OF, settings)
    assert ingested["feeds"]["insurer_settlements"]["rows_loaded"] == 3
    assert ingested["feeds"]["dms_sales"]["rows_loaded"] == 2
    assert ingested["feeds"]["dms_customers"]["rows_loaded"] == 1
    assert not steps.dbt_build(AS_OF, settings)["full_rebuild"]

    may, june = date(2026, 5, 1), date(2026, 6, 1)
    rows = settlement(url)
    # P3: 100.00 settled at the exported 0.20 against 530.00 / 1.06 × 0.20 = 100.00 expected → matched
    assert rows[("P3", "0")] == ("matched", D("100.00"), D("100.00"), D("0.00"), D("0.00"), may)
    # R13: 2,120.00 / 1.06 × 0.20 = 400.00 expected, 400.00 settled → matched (it was missing)
    assert rows[("R13", "0")][:3] == ("matched", D("400.00"), D("400.00"))
    # P7 signed in June, on no statement: PICC's latest statement is now July's, after June → missing (was unsettled)
    assert rows[("P7", "0")] == ("missing", D("200.00"), D("0.00"), D("0.00"), D("-200.00"), june)
    # P999 left PICC: its key (PICC, P999) is on no statement row any more
    assert ("P999", "0") not in rows
    cpic = query(
        url,
        "select policy_no, status, expected_commission, settled_commission, difference, month "
        "from marts.fct_commission_settlement where insurer_code = 'CPIC' order by policy_no",
    )
    assert cpic == [
        # ASZZ1 signed 2026-05-10, on no statement: CPIC's latest statement month is now June (P999's row), after
        # May → missing (was unsettled); 3,650.00 / 1.06 × 0.20 = 688.679… → 688.68 expected, nothing settled
        ("ASZZ1", "missing", D("688.68"), D("0.00"), D("-688.68"), may),
        # P999 under CPIC: on the statement only → not_in_exports, 50.00 settled, reported in the statement month
        ("P999", "not_in_exports", D("0.00"), D("50.00"), D("50.00"), june),
    ]
    # the build rewrote only the transactions it had to: P3, P999 (both insurers' keys), R13, and the two rows on no
    # statement whose insurer's latest month moved (P7, ASZZ1); every other row keeps its earlier ledger_seq
    rewritten = query(
        url,
        "select insurer_code, policy_no from marts.fct_commission_settlement "
        "where ledger_seq = (select max(ledger_seq) from marts.fct_commission_settlement) order by 1, 2",
    )
    assert rewritten == [("CPIC", "ASZZ1"), ("CPIC", "P999"), ("PICC", "P3"), ("PICC", "P7"), ("PICC", "R13")]
    # the vehicles' orders: VIN 9's owner is now C10; VIN 2 is on no order any more (its row leaves), VIN 3 is SO2's
    vehicles = query(
        url,
        "select vin, order_no, customer_id from intermediate.int_vehicles_attributed "
        "where vin in (%s, %s, %s) order by vin",
        (vin(2), vin(3), vin(9)),
    )
    assert vehicles == [(vin(3), "SO2", "C2"), (vin(9), "SO9", "C10")]
    # only those three VINs were recomputed (VIN 2's row deleted): the rows above the earlier ledger_seq
    assert query(
        url,
        "select vin from intermediate.int_vehicles_attributed where ledger_seq = "
        "(select max(ledger_seq) from intermediate.int_vehicles_attributed) order by vin",
    ) == [(vin(3),), (vin(9),)]
    # the owner change reaches the customers' marts: C10 owns VIN 10 and VIN 9 now, C9 none
    register = (
        "select customer_id, vehicles from marts.rpt_customer_register where customer_id in ('C9', 'C10') order by 1"
    )
    assert query(url, register) == [("C10", 2), ("C9", 0)]
    # dim_customer and the register are rebuilt per customer: C8 (its record), and every customer an order of VIN 2,
    # 3 or 9 ever named: C2 (SO2, before and after its VIN moved), C9 (SO9 before) and C10 (SO9 now). The as-of date
    # did not move, so no window edge adds one.
    for model in ("marts.dim_customer", "marts.rpt_customer_register"):
        newest = f"select customer_id from {model} where ledger_seq = (select max(ledger_seq) from {model}) order by 1"
        assert query(url, newest) == [("C10",), ("C2",), ("C8",), ("C9",)], model
    # organisations (int_policy_customers_classified, per policy): P2's VIN 2 has no DMS order left, so its personal
    # 证件号码 decides (个人); P3's VIN 3 is now SO2's, customer C2 a 单位; C8 is re-exported as a 单位, so P8 is one.
    # Only those three policies were classified again: VIN 9 (SO9's new owner) has no policy.
    classified = (
        "select policy_no, is_organisation, classified_by from intermediate.int_policy_customers_classified "
        "where ledger_seq = (select max(ledger_seq) from intermediate.int_policy_customers_classified) order by 1"
    )
    assert query(url, classified) == [
        ("P2", False, "id_number_shape"),
        ("P3", True, "dms_customer"),
        ("P8", True, "dms_customer"),
    ]
    # the sales fact (per order): the two orders re-exported, SO2 and SO9; no delivered car's insured flag changed
    orders = (
        "select order_no from marts.fct_vehicle_sales "
        "where ledger_seq = (select max(ledger_seq) from marts.fct_vehicle_sales) order by 1"
    )
    assert query(url, orders) == [("SO2",), ("SO9",)]
    # renewal types (int_policies_typed, per vehicle): the main policies of VINs 2 and 3 were classified again (their
    # sales order changed), so their policies are typed again: P2 and P3 (VIN 9 has no policy)
    typed = (
        "select policy_no from intermediate.int_policies_typed "
        "where ledger_seq = (select max(ledger_seq) from intermediate.int_policies_typed) order by 1"
    )
    assert query(url, typed) == [("P2",), ("P3",)]
    assert_full_rebuild_ends_where_incremental_ended(url, settings, AS_OF)

    # The date alone moves (no new batch) to 2027-03-02: RO1 (opened 2026-03-01) leaves C10's 12 months, so its spend
    # is R11's 3,180.00 alone: under 8,000 (not A) and at least 2,000 with no claim (not C) → tier B. The rows the date
    # turns are rewritten under the same ledger_seq, so the register finds C10 through the window edge itself.
    later = date(2027, 3, 2)
    assert query(url, "select tier from marts.rpt_customer_register where customer_id = 'C10'") == [("A",)]
    steps.dbt_build(later, settings)
    for model in ("marts.dim_customer", "marts.rpt_customer_register"):
        assert query(url, f"select tier from {model} where customer_id = 'C10'") == [("B",)], model
    assert_full_rebuild_ends_where_incremental_ended(url, settings, later)
