"""Every bad input the source contract lists (docs block source_delivery), loaded into a real PostgreSQL.

Each case shows the clear error (a `failed` ledger row with its message) or the quarantined row with its
reason, and that the valid rows of the same file still load.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from ingestion.feeds import export_header
from ingestion.loader import FileResult, ingest_inbox
from tests.conftest import query, scalar
from tests.exports import (
    CPIC_HEADER,
    PICC_HEADER,
    paic_row,
    picc_row,
    write_csv,
    write_paic,
    write_picc,
    write_roster,
)

VIN_A = "LSVAB1234CD567890"
VIN_B = "LFVZZ9876YX543210"
VIN_C = "LGXCE4CB8N0123456"


@pytest.fixture(autouse=True)
def roster(request, tmp_path):
    """Every warehouse of this module first loads a staff roster listing the sellers of these exports (E0001,
    E0002, E0003, E0006), as production does: without one their rows would be held (ingestion/staff_hold.py)."""
    if "fresh_db" in request.fixturenames:
        staff = {"E0001": "S01", "E0002": "S01", "E0003": "S01", "E0006": "S01"}
        write_roster(tmp_path / "roster", "20200101_staff.csv", staff)
        ingest_inbox(request.getfixturevalue("fresh_db"), tmp_path / "roster", tmp_path / "roster_archive")


def load(url: str, inbox: Path, tmp_path: Path) -> dict[str, FileResult]:
    return {r.file: r for r in ingest_inbox(url, inbox, tmp_path / "archive")}


def rejects(url: str, feed: str) -> list[tuple[int, str, dict]]:
    return query(url, "select row_number, reason, cells from raw._rejects where feed = %s order by row_number", (feed,))


def batch(url: str, file: str) -> tuple:
    return query(
        url, "select status, rows_loaded, rows_rejected, message from raw._batches where source_file = %s", (file,)
    )[0]


def test_wrong_encoding_is_a_clear_file_error(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    # PICC is exported in GBK; this file was saved as UTF-8.
    write_csv(inbox / "insurer_picc" / "20260307_picc.csv", PICC_HEADER, [picc_row("PDAA1", VIN_A, "1000.00")], "utf-8")
    # DMS sales are UTF-8; this one arrived in GBK.
    write_csv(
        inbox / "dms_sales" / "20260307_sales.csv",
        export_header("dms_sales"),
        [
            [
                "SO1",
                "S01",
                "E0006",
                "C1",
                VIN_A,
                "大众",
                "帕萨特",
                "豪华版",
                "否",
                "209900.00",
                "199000.00",
                "全款",
                "2026-03-01",
                "2026-03-07",
                "已交车",
            ]
        ],
        "gbk",
    )
    results = load(fresh_db, inbox, tmp_path)
    assert results["20260307_picc.csv"].status == "failed"
    assert "GBK" in results["20260307_picc.csv"].message and "UTF-8" in results["20260307_picc.csv"].message
    assert results["20260307_sales.csv"].status == "failed"
    assert "looks GBK-encoded" in results["20260307_sales.csv"].message
    assert scalar(fresh_db, "select count(*) from raw.insurer_picc") == 0
    assert batch(fresh_db, "20260307_picc.csv")[0] == "failed"
    assert (tmp_path / "archive" / "insurer_picc" / "failed" / "20260307_picc.csv").exists()


def test_missing_or_renamed_column_names_the_column(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    renamed = ["保费金额" if h == "保费" else h for h in PICC_HEADER]
    write_csv(inbox / "insurer_picc" / "20260307_renamed.csv", renamed, [picc_row("PDAA1", VIN_A, "1000.00")], "gbk")
    missing = [h for h in PICC_HEADER if h != "车架号"]
    row = picc_row("PDAA2", VIN_A, "1000.00")
    del row[PICC_HEADER.index("车架号")]
    write_csv(inbox / "insurer_picc" / "20260308_missing.csv", missing, [row], "gbk")
    results = load(fresh_db, inbox, tmp_path)
    assert results["20260307_renamed.csv"].status == "failed"
    assert (
        "missing column(s) for feed insurer_picc: 保费 (found '保费金额' instead?)"
        in results["20260307_renamed.csv"].message
    )
    assert results["20260308_missing.csv"].status == "failed"
    assert "车架号" in results["20260308_missing.csv"].message
    assert scalar(fresh_db, "select count(*) from raw.insurer_picc") == 0


def test_extra_column_is_ignored_and_noted(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    header = [*PICC_HEADER, "备注"]
    write_csv(
        inbox / "insurer_picc" / "20260307_extra.csv",
        header,
        [[*picc_row("PDAA1", VIN_A, "1000.00"), "客户要求发票"]],
        "gbk",
    )
    results = load(fresh_db, inbox, tmp_path)
    assert results["20260307_extra.csv"].status == "loaded"
    assert results["20260307_extra.csv"].rows_loaded == 1
    assert batch(fresh_db, "20260307_extra.csv")[3] == "ignored extra column(s): 备注"


def test_empty_file_and_header_only_file(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "insurer_cpic").mkdir(parents=True)
    (inbox / "insurer_cpic" / "20260307_empty.csv").write_bytes(b"")
    write_csv(inbox / "insurer_cpic" / "20260308_header.csv", CPIC_HEADER, [], "utf-8-sig", ";")
    results = load(fresh_db, inbox, tmp_path)
    assert results["20260307_empty.csv"].status == "failed"
    assert results["20260307_empty.csv"].message == "empty file: no header and no rows"
    assert results["20260308_header.csv"].status == "empty"
    assert batch(fresh_db, "20260308_header.csv")[:3] == ("empty", 0, 0)


def test_truncated_and_corrupt_xlsx(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    good = write_paic(inbox, "20260307_good.xlsx", [paic_row("1105A", VIN_A, "第三者责任保险", 876.5)])
    data = good.read_bytes()
    (inbox / "insurer_paic" / "20260308_truncated.xlsx").write_bytes(data[: len(data) // 2])
    (inbox / "insurer_paic" / "20260309_notxlsx.xlsx").write_bytes("保单号码,险别\n1,2\n".encode())
    results = load(fresh_db, inbox, tmp_path)
    assert results["20260307_good.xlsx"].rows_loaded == 1
    for name in ("20260308_truncated.xlsx", "20260309_notxlsx.xlsx"):
        assert results[name].status == "failed"
        assert "not an XLSX workbook" in results[name].message or "truncated or corrupt" in results[name].message


def test_wrong_sheet_name(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    path = inbox / "finance_targets" / "20260301_targets.xlsx"
    path.parent.mkdir(parents=True)
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Sheet1").write_row(0, 0, ["年月", "门店代码"])
    book.close()
    result = load(fresh_db, inbox, tmp_path)["20260301_targets.xlsx"]
    assert result.status == "failed"
    assert result.message == "sheet '目标' not found; the workbook has: Sheet1"


def test_row_with_too_few_cells_is_quarantined(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    short = picc_row("PDAA2", VIN_B, "500.00")[:10]
    write_picc(
        inbox, "20260307_picc.csv", [picc_row("PDAA1", VIN_A, "1000.00"), short, picc_row("PDAA3", VIN_C, "700.00")]
    )
    result = load(fresh_db, inbox, tmp_path)["20260307_picc.csv"]
    assert (result.rows_loaded, result.rows_rejected) == (2, 1)
    [(row_number, reason, cells)] = rejects(fresh_db, "insurer_picc")
    assert row_number == 3  # header is line 1
    assert reason == "row has 10 cells, the header has 19"
    assert cells["cell_1"] == "PDAA2"
    assert query(fresh_db, "select policy_no from raw.insurer_picc order by 1") == [("PDAA1",), ("PDAA3",)]


def test_unparseable_dates_and_amounts(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    rows = [
        picc_row("PDAA1", VIN_A, "1,234.50", detail="车损险:1,234.50"),
        picc_row("PDAA2", VIN_B, "1000.00", sign="2026/2/30"),
        picc_row("PDAA3", VIN_C, "12O0.00", detail="车损险:1200.00"),
    ]
    write_picc(inbox, "20260307_picc.csv", rows)
    result = load(fresh_db, inbox, tmp_path)["20260307_picc.csv"]
    assert (result.rows_loaded, result.rows_rejected) == (1, 2)
    reasons = {row: reason for row, reason, _ in rejects(fresh_db, "insurer_picc")}
    assert reasons[3] == "签单日期: '2026/2/30' is not a date"
    assert reasons[4].startswith("保费: '12O0.00' is not an amount")
    assert query(fresh_db, "select policy_no, premium::text from raw.insurer_picc") == [("PDAA1", "1234.50")]


def test_vin_of_wrong_length_and_messy_vins(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    rows = [
        picc_row("PDAA1", f" {VIN_A.lower()} ", "1000.00"),  # lower case and padded: cleaned, loads
        picc_row("PDAA2", VIN_B[:16], "1000.00"),
        picc_row("PDAA3", "LSVAB1234CD56789O", "1000.00"),  # 17 characters, but O is never in a VIN
    ]
    write_picc(inbox, "20260307_picc.csv", rows)
    load(fresh_db, inbox, tmp_path)
    reasons = {row: reason for row, reason, _ in rejects(fresh_db, "insurer_picc")}
    assert reasons == {
        3: f"车架号: '{VIN_B[:16]}' is not a 17-character VIN",
        4: "车架号: 'LSVAB1234CD56789O' has characters a VIN cannot have",
    }
    assert query(fresh_db, "select vin from raw.insurer_picc") == [(VIN_A,)]


def test_negative_premium_only_allowed_on_cancellations_and_endorsements(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    rows = [
        picc_row("PDAA1", VIN_A, "-300.00", detail="车损险:-300.00"),
        picc_row("PDAA2", VIN_B, "-300.00", detail="车损险:-300.00", endorsement="E1", change="退保"),
        picc_row("PDAA3", VIN_C, "-50.00", detail="车损险:-50.00", endorsement="E2", change="批改"),
        picc_row("PDAA4", VIN_C, "300.00", detail="车损险:300.00", endorsement="E3", change="退保"),
    ]
    write_picc(inbox, "20260307_picc.csv", rows)
    load(fresh_db, inbox, tmp_path)
    reasons = {row: reason for row, reason, _ in rejects(fresh_db, "insurer_picc")}
    assert reasons == {2: "negative premium on a non-cancellation row", 5: "positive premium on a cancellation row"}
    assert query(fresh_db, "select policy_no from raw.insurer_picc order by 1") == [("PDAA2",), ("PDAA3",)]


def test_cpic_negative_premium_on_new_business(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    base = [
        "",
        "",
        "0.00",
        "0.20",
        "20260307",
        "20260308",
        "20270307",
        "粤B1",
        VIN_A,
        "王五",
        "4403",
        "139",
        "E0003",
        "S01",
    ]
    rows = [
        ["ASZZ1", "", "NEW", "950.00", "-100.00", "", "", "", *base[2:]],
        ["ASZZ2", "", "NEW", "950.00", "2000.00", "1000.00", "", "", *base[2:]],
    ]
    write_csv(tmp_path / "inbox" / "insurer_cpic" / "20260307_cpic.csv", CPIC_HEADER, rows, "utf-8-sig", ";")
    load(fresh_db, inbox, tmp_path)
    assert [(r, reason) for r, reason, _ in rejects(fresh_db, "insurer_cpic")] == [
        (2, "negative premium on a non-cancellation row")
    ]
    assert scalar(fresh_db, "select count(*) from raw.insurer_cpic") == 1


def test_end_date_before_start_date(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    rows = [
        picc_row("PDAA1", VIN_A, "1000.00"),
        picc_row("PDAA2", VIN_B, "1000.00", start="2026-03-08", end="2026-03-01"),
    ]
    write_picc(inbox, "20260307_picc.csv", rows)
    load(fresh_db, inbox, tmp_path)
    assert [(r, reason) for r, reason, _ in rejects(fresh_db, "insurer_picc")] == [(3, "end_date is before start_date")]
    assert scalar(fresh_db, "select count(*) from raw.insurer_picc") == 1


def test_duplicate_rows_inside_one_file(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    first = picc_row("PDAA1", VIN_A, "1000.00")
    conflicting = picc_row("PDAA1", VIN_A, "1100.00", detail="车损险:1100.00")
    write_picc(inbox, "20260307_picc.csv", [first, picc_row("PDAA2", VIN_B, "800.00"), list(first), conflicting])
    load(fresh_db, inbox, tmp_path)
    assert [(r, reason) for r, reason, _ in rejects(fresh_db, "insurer_picc")] == [
        (4, "duplicate row: same cells as row 2"),
        (5, "duplicate key (policy_no, endorsement_no) with different values from row 2"),
    ]
    assert query(fresh_db, "select policy_no, premium::text from raw.insurer_picc order by 1") == [
        ("PDAA1", "1000.00"),
        ("PDAA2", "800.00"),
    ]


def test_same_file_twice_and_renamed_copy_load_nothing(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    original = write_picc(inbox, "20260307_picc.csv", [picc_row("PDAA1", VIN_A, "1000.00")])
    first = load(fresh_db, inbox, tmp_path)
    assert first["20260307_picc.csv"].rows_loaded == 1
    (inbox / "insurer_picc" / "20260307_picc_resend.csv").write_bytes(original.read_bytes())
    second = load(fresh_db, inbox, tmp_path)
    assert second["20260307_picc.csv"].status == "already_loaded"
    assert second["20260307_picc_resend.csv"].status == "duplicate"
    assert "identical to 20260307_picc.csv" in second["20260307_picc_resend.csv"].message
    third = load(fresh_db, inbox, tmp_path)
    assert {r.status for r in third.values()} == {"already_loaded"}
    assert scalar(fresh_db, "select count(*) from raw.insurer_picc") == 1
    assert scalar(fresh_db, "select count(*) from raw._batches where feed <> 'dms_staff'") == 2


def test_unknown_feed_folder_and_bad_file_name(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "insurer_xyz" / "20260307_policies.csv", ["a"], [["1"]], "utf-8")
    write_picc(inbox, "policies_march.csv", [picc_row("PDAA1", VIN_A, "1000.00")])
    results = load(fresh_db, inbox, tmp_path)
    unknown = results["20260307_policies.csv"]
    assert unknown.status == "unknown_feed"
    assert unknown.message.startswith("unknown feed folder 'insurer_xyz'; known feeds: aftersales_ro,")
    assert results["policies_march.csv"].status == "failed"
    assert "must look like YYYYMMDD_" in results["policies_march.csv"].message


def test_trailing_total_row_is_skipped_not_loaded(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    write_picc(inbox, "20260307_picc.csv", [picc_row("PDAA1", VIN_A, "1000.00")], total=True)
    result = load(fresh_db, inbox, tmp_path)["20260307_picc.csv"]
    assert (result.rows_loaded, result.rows_rejected) == (1, 0)
    assert query(fresh_db, "select rows_skipped from raw._batches where feed <> 'dms_staff'")[0][0] == 1


def test_spreadsheet_merged_cell_formula_cells_and_total_row(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    rows = [
        paic_row("1105A", VIN_A, "机动车损失保险", 2345.0),
        paic_row(None, VIN_A, "第三者责任保险", 876.5),  # 保单号码 merged down from the row above
        paic_row(None, VIN_A, "车上人员责任保险(司机)", 120.0),
        paic_row("1105B", VIN_B, "机动车损失保险", 0.0),  # premium is a formula with a computed value
        paic_row("1105C", VIN_C, "机动车损失保险", 0.0),  # premium is a formula without a computed value
        ["合计", None, None, None, None, None, 5000.0],
    ]
    write_paic(inbox, "20260307_paic.xlsx", rows, merge=(0, 2))
    path = inbox / "insurer_paic" / "20260307_paic.xlsx"
    # Rebuild with the formula cells: one with a cached value, one without.
    path.unlink()
    write_paic(inbox, "20260307_paic.xlsx", rows, merge=(0, 2), formula=(3, "=1000+234.5", 1234.5))
    load(fresh_db, inbox, tmp_path)
    loaded = query(
        fresh_db,
        "select policy_no, coverage_name, premium::text as premium_text from raw.insurer_paic "
        "order by policy_no, premium desc",
    )
    assert loaded == [
        ("1105A", "机动车损失保险", "2345.00"),
        ("1105A", "第三者责任保险", "876.50"),
        ("1105A", "车上人员责任保险(司机)", "120.00"),
        ("1105B", "机动车损失保险", "1234.50"),
        ("1105C", "机动车损失保险", "0.00"),
    ]
    assert scalar(fresh_db, "select rows_skipped from raw._batches where feed <> 'dms_staff'") == 1  # the 合计 row

    second = tmp_path / "second"
    write_paic(second, "20260308_paic.xlsx", rows[:1] + rows[3:5], formula=(2, "=A1*2", None))
    load(fresh_db, second, tmp_path)
    reasons = [(r, reason) for r, reason, _ in rejects(fresh_db, "insurer_paic")]
    assert reasons == [(6, "formula cell in column 险别保费 has no computed value")]


def test_rejects_keep_the_original_cells(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    write_picc(inbox, "20260307_picc.csv", [picc_row("PDAA1", VIN_A, "1000.00", sign="昨天")])
    load(fresh_db, inbox, tmp_path)
    [(_, _, cells)] = rejects(fresh_db, "insurer_picc")
    assert cells["签单日期"] == "昨天"
    assert cells["保单号"] == "PDAA1"
    assert json.dumps(cells, ensure_ascii=False).count("张三") == 1


@pytest.mark.parametrize("rate_text, expected", [("18%", "0.1800"), ("0.18", "0.1800"), ("180%", None)])
def test_commission_rate_forms(fresh_db, tmp_path, rate_text, expected):
    inbox = tmp_path / "inbox"
    write_picc(inbox, "20260307_picc.csv", [picc_row("PDAA1", VIN_A, "1000.00", rate=rate_text)])
    load(fresh_db, inbox, tmp_path)
    rates = query(fresh_db, "select commission_rate::text from raw.insurer_picc")
    assert rates == ([(expected,)] if expected else [])


def test_archive_holds_the_original_bytes(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    path = write_picc(inbox, "20260307_picc.csv", [picc_row("PDAA1", VIN_A, "1000.00")])
    load(fresh_db, inbox, tmp_path)
    archived = tmp_path / "archive" / "insurer_picc" / "2026" / "03" / "20260307_picc.csv"
    assert archived.read_bytes() == path.read_bytes()
    assert date(2026, 3, 7) == query(fresh_db, "select export_date from raw._batches where feed <> 'dms_staff'")[0][0]


def test_feeds_load_side_by_side_and_each_feed_in_export_order(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    for day, vin in (("20260303", VIN_C), ("20260301", VIN_A), ("20260302", VIN_B)):
        write_picc(inbox, f"{day}_picc.csv", [picc_row(f"PD{day}", vin, "1000.00")])
        write_paic(inbox, f"{day}_paic.xlsx", [paic_row(f"11{day}", vin, "第三者责任保险", 876.5)])
    results = ingest_inbox(fresh_db, inbox, tmp_path / "archive", workers=2)
    assert [r.file for r in results] == [  # reported oldest export first, as the inbox lists them
        f"{day}_{feed}" for day in ("20260301", "20260302", "20260303") for feed in ("paic.xlsx", "picc.csv")
    ]
    assert {r.status for r in results} == {"loaded"}
    # Batch ids grow with the export date within each feed: the newest export of a key wins by them.
    for feed in ("insurer_picc", "insurer_paic"):
        exported = query(fresh_db, "select export_date from raw._batches where feed = %s order by batch_id", (feed,))
        assert [d for (d,) in exported] == [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]


@pytest.mark.parametrize("together", [True, False], ids=["typed-together", "each-alone"])
def test_small_files_typed_together_load_exactly_as_each_alone(fresh_db, tmp_path, monkeypatch, together):
    """Small CSV files of a feed are typed in one pass; nothing of one file may leak into another's result."""
    import ingestion.loader

    monkeypatch.setattr(ingestion.loader, "SMALL_FILE_BYTES", 1 << 20 if together else 0)
    inbox = tmp_path / "inbox"
    row_a, row_c = picc_row("PDAA1", VIN_A, "1000.00"), picc_row("PDAA3", VIN_C, "700.00")
    first = write_picc(inbox, "20260301_picc.csv", [row_a, picc_row("PDAA2", VIN_B, "800.00")])
    # Row A again (a later export repeats it: not a duplicate, it is another file), row C twice, a short VIN, a
    # seller no roster lists (held).
    unknown_seller = picc_row("PDAA5", VIN_C, "900.00", staff="E0099")
    write_picc(
        inbox,
        "20260302_picc.csv",
        [row_a, row_c, list(row_c), picc_row("PDAA4", VIN_B[:16], "1.00"), unknown_seller],
    )
    write_csv(inbox / "insurer_picc" / "20260303_picc.csv", PICC_HEADER[1:], [row_a[1:]], "gbk")  # no 保单号
    (inbox / "insurer_picc" / "20260304_picc_resend.csv").write_bytes(first.read_bytes())
    noted = [*row_c, "续保"]
    write_csv(inbox / "insurer_picc" / "20260305_picc.csv", [*PICC_HEADER, "备注"], [noted, list(noted)], "gbk")
    results = load(fresh_db, inbox, tmp_path)
    assert {name: (r.status, r.rows_loaded, r.rows_rejected) for name, r in results.items()} == {
        "20260301_picc.csv": ("loaded", 2, 0),
        "20260302_picc.csv": ("loaded", 2, 3),
        "20260303_picc.csv": ("failed", 0, 0),
        "20260304_picc_resend.csv": ("duplicate", 0, 0),
        "20260305_picc.csv": ("loaded", 1, 1),
    }
    assert "missing column(s) for feed insurer_picc: 保单号" in results["20260303_picc.csv"].message
    assert results["20260304_picc_resend.csv"].message.startswith("identical to 20260301_picc.csv")
    assert results["20260305_picc.csv"].message == "ignored extra column(s): 备注"
    assert query(
        fresh_db, "select source_file, row_number, reason from raw._rejects order by source_file, row_number"
    ) == [
        ("20260302_picc.csv", 4, "duplicate row: same cells as row 3"),
        ("20260302_picc.csv", 5, f"车架号: '{VIN_B[:16]}' is not a 17-character VIN"),
        ("20260302_picc.csv", 6, "staff code 'E0099' is not in any staff roster (held: loads when a roster lists it)"),
        ("20260305_picc.csv", 3, "duplicate row: same cells as row 2"),
    ]
    assert query(fresh_db, "select _source_file, _row_number, policy_no from raw.insurer_picc order by 1, 2") == [
        ("20260301_picc.csv", 2, "PDAA1"),
        ("20260301_picc.csv", 3, "PDAA2"),
        ("20260302_picc.csv", 2, "PDAA1"),
        ("20260302_picc.csv", 3, "PDAA3"),
        ("20260305_picc.csv", 2, "PDAA3"),
    ]
    exported = query(
        fresh_db,
        "select export_date from raw._batches where status = 'loaded' and feed <> 'dms_staff' order by batch_id",
    )
    assert [d for (d,) in exported] == [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 5)]


def test_a_feed_table_has_fresh_statistics_after_each_load(fresh_db, tmp_path):
    """The raw gate filters on the new batch ids; with statistics from before a load PostgreSQL planned a 1% delta
    as one row and chose nested loops (over 20 minutes for one check at 10M). After each load the table is analyzed:
    the first file's batch, then both batches, appear in its statistics (autovacuum would wait for 10% new rows)."""
    first, second = tmp_path / "first", tmp_path / "second"
    write_picc(first, "20260301_picc.csv", [picc_row(f"PS{n}", VIN_A, "1000.00") for n in range(40)])
    write_picc(second, "20260302_picc.csv", [picc_row(f"PT{n}", VIN_B, "1000.00") for n in range(3)])
    batches_seen = "select n_distinct from pg_stats where schemaname = 'raw' and tablename = 'insurer_picc' "
    batches_seen += "and attname = '_batch_id'"
    load(fresh_db, first, tmp_path)
    assert query(fresh_db, batches_seen) == [(1.0,)]  # one batch, every row sampled
    load(fresh_db, second, tmp_path)
    assert query(fresh_db, batches_seen) == [(2.0,)]  # 3 new rows next to 40: no autovacuum would analyze for them


def test_feeds_keyed_by_text_get_the_key_index_the_daily_build_looks_keys_up_by(fresh_db, tmp_path):
    """Staging and the per-key models find every version of a changed key in the raw exports by dbt's key_tuple,
    `coalesce(column::text, '')` per key column; after a run's loads each feed table has an index on exactly those
    expressions, so a daily build reads a few rows per changed key, not the whole export (10M rows: the staging
    models' daily seconds fell from 62-73 to 20-24). The finance targets' key has a month (a date, whose text form
    depends on settings an index cannot follow): no index, a small table."""
    write_picc(tmp_path / "inbox", "20260301_picc.csv", [picc_row("PS1", VIN_A, "1000.00")])
    load(fresh_db, tmp_path / "inbox", tmp_path)
    indexes = dict(
        query(fresh_db, "select tablename, indexdef from pg_indexes where schemaname = 'raw' and indexname ~ '__key$'")
    )
    assert indexes["insurer_picc"] == (
        "CREATE INDEX insurer_picc__key ON raw.insurer_picc USING btree "
        "(COALESCE(policy_no, ''::text), COALESCE(endorsement_no, ''::text))"
    )
    assert (
        indexes["aftersales_ro"]
        == "CREATE INDEX aftersales_ro__key ON raw.aftersales_ro USING btree (COALESCE(ro_no, ''::text))"
    )
    assert sorted(indexes) == [
        "aftersales_ro",
        "dms_customers",
        "dms_followups",
        "dms_gifts",
        "dms_leads",
        "dms_sales",
        "dms_staff",
        "dms_surveys",
        "insurer_claims",
        "insurer_cpic",
        "insurer_paic",
        "insurer_picc",
        "insurer_settlements",
    ]
