"""The whole pipeline through Airflow (`dag.test()`), on generated sample exports, twice.

The expected totals come from the generator's world (what it wrote into the exports), not from the code
under test: premium, vehicle tax and commission recomputed here line by line.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from samples import BAD_ROWS, generate_inbox
from tests.conftest import attachments, query, scalar

AS_OF = date(2026, 11, 20)
COUNTED_TABLES = """
select table_schema || '.' || table_name from information_schema.tables
where table_schema in ('raw', 'marts', 'dq') and table_type = 'BASE TABLE' order by 1
"""


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def expected_totals(world) -> dict[str, Decimal]:
    """Premium, tax and commission exactly as the exports carry them, from the generator's records."""
    premium = tax = commission = Decimal(0)
    for policy in world.policies:
        events = [(policy.lines, policy.tax)] + [(t.lines, 0) for t in policy.transactions]
        for lines, vehicle_tax in events:
            exported: dict[str, int] = {}
            for code, amount in lines.items():
                # CPIC exports both seat coverages in one column, so commission is rounded on their sum
                key = "SEAT" if policy.insurer == "CPIC" and code.startswith("SEAT") else code
                exported[key] = exported.get(key, 0) + amount
            for code, amount in exported.items():
                line = Decimal(amount) / 100
                rate = Decimal(str(policy.rates["SEAT_DRIVER" if code == "SEAT" else code]))
                premium += line
                commission += cents(line / Decimal("1.06") * rate)
            tax += Decimal(vehicle_tax) / 100
    return {"premium": premium, "vehicle_tax": tax, "commission": commission}


@pytest.fixture(scope="module")
def pipeline_runs(warehouse_url, airflow_ready, tmp_path_factory):
    inbox = tmp_path_factory.mktemp("inbox")
    world = generate_inbox(inbox, AS_OF, stores=2, months=14)
    os.environ["DW_INBOX"] = str(inbox)
    from pipeline.airflow_runner import run_dag

    first_state, first_summary = run_dag(AS_OF)
    counts_after_first = {
        t: scalar(warehouse_url, f"select count(*) from {t}")
        for (t,) in query(warehouse_url, COUNTED_TABLES)
        if not t.startswith("dq.")
    }
    second_state, second_summary = run_dag(AS_OF)
    counts_after_second = {
        t: scalar(warehouse_url, f"select count(*) from {t}")
        for (t,) in query(warehouse_url, COUNTED_TABLES)
        if not t.startswith("dq.")
    }
    yield {
        "world": world,
        "states": (first_state, second_state),
        "summaries": (first_summary, second_summary),
        "counts": (counts_after_first, counts_after_second),
        "inbox": inbox,
    }
    for variable in ("DW_INBOX", "DW_AS_OF"):
        os.environ.pop(variable, None)


def test_both_runs_succeed_through_airflow(pipeline_runs):
    assert pipeline_runs["states"] == ("success", "success")


def test_premium_tax_and_commission_reconcile_to_the_cent(pipeline_runs, warehouse_url):
    expected = expected_totals(pipeline_runs["world"])
    premium, tax, commission = query(
        warehouse_url,
        "select sum(premium), sum(vehicle_tax), sum(commission_amount) from marts.fct_policy_transactions",
    )[0]
    assert premium == expected["premium"]
    assert tax == expected["vehicle_tax"]
    assert commission == expected["commission"]
    raw_premium = scalar(
        warehouse_url,
        """
        select (select sum(premium) from raw.insurer_picc) + (select sum(premium) from raw.insurer_paic)
             + (select sum(coalesce(ctp_premium, 0) + coalesce(vd_premium, 0) + coalesce(tpl_premium, 0)
                         + coalesce(seat_premium, 0) + coalesce(rider_premium, 0)) from raw.insurer_cpic)""",
    )
    assert premium == raw_premium
    daily = scalar(warehouse_url, "select sum(premium) from marts.rpt_daily_operations")
    assert daily == expected["premium"]


def test_second_run_changes_no_row_count(pipeline_runs):
    first, second = pipeline_runs["counts"]
    assert first == second
    assert first["raw._batches"] == len([p for p in Path(pipeline_runs["inbox"]).rglob("*.*")])
    assert first["marts.fct_policy_transactions"] > 1000


def test_every_planted_bad_row_is_quarantined_with_its_reason(pipeline_runs, warehouse_url):
    rejects = query(warehouse_url, "select feed, reason from raw._rejects")
    assert len(rejects) == len(BAD_ROWS)
    for feed, fragment in BAD_ROWS:
        assert any(f == feed and fragment in reason for f, reason in rejects), (feed, fragment)
    duplicates = query(warehouse_url, "select feed, source_file from raw._batches where status = 'duplicate'")
    [resend] = Path(pipeline_runs["inbox"]).glob("insurer_picc/*_resend.csv")
    assert duplicates == [("insurer_picc", resend.name)]


def test_great_expectations_results_are_stored_and_summary_recorded(pipeline_runs, warehouse_url):
    first = pipeline_runs["summaries"][0]
    assert first["raw_checks"]["summary"].startswith("raw_checkpoint: passed")
    assert first["mart_checks"]["summary"].startswith("marts_checkpoint: passed")
    failed_critical = scalar(
        warehouse_url, "select count(*) from dq.validation_results where severity = 'critical' and not success"
    )
    assert failed_critical == 0
    reconciliation = query(
        warehouse_url, "select success from dq.validation_results where expectation = 'expect_column_sum_to_be_between'"
    )
    assert reconciliation and all(ok for (ok,) in reconciliation)
    suites = {suite for (suite,) in query(warehouse_url, "select distinct suite from dq.validation_results")}
    feed_suites = {f"raw_{feed}_spec" for feed in ("insurer_picc", "dms_sales", "aftersales_ro", "finance_targets")}
    assert feed_suites | {"marts_orphan_keys", "marts_keys_rpt_weekly_kpis"} <= suites
    from pipeline.settings import load_settings

    assert (load_settings().home / "data_docs" / "index.html").exists()
    assert first["mart_rows"]["fct_policy_transactions"] == scalar(
        warehouse_url, "select count(*) from marts.fct_policy_transactions"
    )
    assert first["dbt"]["statuses"].get("error", 0) == 0 and first["dbt"]["statuses"].get("fail", 0) == 0


# ---- renewal operations (issue 18): the lists the daily run writes, aftersales_ro's optional columns ------
def test_daily_dag_writes_due_lists_and_first_service_lists_that_tie_to_the_marts(pipeline_runs, warehouse_url):
    import csv

    import openpyxl

    from pipeline.settings import load_settings

    reports = load_settings().reports
    marts = dict(
        query(warehouse_url, "select store_code, count(*) from marts.rpt_renewal_due_list_contacts group by 1")
    )
    by_type = query(
        warehouse_url,
        "select store_code, pool_type, count(*) from marts.rpt_renewal_due_list_contacts group by 1, 2 order by 1, 2",
    )
    assert {t for _, t, _ in by_type} >= {"group_renewal", "lapsed", "sold_not_insured"}  # the whole pool
    assert set(marts) == {"S01", "S02"}  # the world has two stores, each with cars in a contact window
    for store, count in marts.items():
        workbook_path = reports / "due_lists" / f"应续清单_{store}_{AS_OF}.xlsx"
        csv_path = workbook_path.with_suffix(".csv")
        for path in (workbook_path, csv_path):
            assert path.stat().st_mode & 0o777 == 0o640  # insurance staff (the owner's group) only
        assert (reports / "due_lists").stat().st_mode & 0o777 == 0o750
        with csv_path.open(encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == count  # the file's total ties to the mart
        assert sorted((store, t, n) for s, t, n in by_type if s == store) == sorted(
            (store, t, sum(1 for r in rows if r["类型"] == name))
            for t, name in {
                "group_renewal": "续保(本店保单)",
                "lapsed": "脱保挽回",
                "sold_not_insured": "本店售车未投保",
                "serviced_not_insured": "在修不在保",
            }.items()
            if any(r["类型"] == name for r in rows)
        )
        # expired cars still in grace first, then by days to due, the win-back calls last
        groups = [
            0 if r["类型"] != "脱保挽回" and int(r["剩余天数"]) < 0 else 2 if r["类型"] == "脱保挽回" else 1
            for r in rows
        ]
        assert groups == sorted(groups)
        assert all(r["本次任务"] == "挽回电话" for r in rows if r["类型"] == "脱保挽回")
        book = openpyxl.load_workbook(workbook_path)
        assert "图例" in book.sheetnames
        sheets = [book[name] for name in book.sheetnames if name != "图例"]
        assert sum(sheet.max_row - 1 for sheet in sheets) == count
        for sheet in sheets:
            assert sheet.auto_filter.ref and sheet.freeze_panes == "A2"
            header = [c.value for c in sheet[1]]
            due_cells = [row[header.index("到期日")] for row in sheet.iter_rows(min_row=2)]
            assert all(cell.is_date for cell in due_cells)  # dates sort as dates
            assert isinstance(sheet.cell(2, header.index("剩余天数") + 1).value, int)
            names = {row[header.index("负责人")].value for row in sheet.iter_rows(min_row=2)}
            assert all(names), sheet.title  # a name for every assignee, the store team included
    first_service = dict(
        query(warehouse_url, "select store_code, count(*) from marts.rpt_first_service_due_list group by 1")
    )
    assert first_service  # cars delivered 60–120 days before the as-of date without a 首保 order
    for store, count in first_service.items():
        path = reports / "first_service" / f"首保提醒_{store}_{AS_OF}.csv"
        assert path.stat().st_mode & 0o777 == 0o640
        with path.open(encoding="utf-8-sig") as handle:
            assert sum(1 for _ in csv.DictReader(handle)) == count
        assert (path.with_suffix(".xlsx")).exists()


def test_aftersales_files_with_and_without_the_optional_columns_load_in_one_run(pipeline_runs, warehouse_url):
    from samples.renewal_ops import FILES_WITH_INSURANCE_COLUMNS, NOT_A_DATE

    files = sorted((pipeline_runs["inbox"] / "aftersales_ro").iterdir())
    with_columns = files[-FILES_WITH_INSURANCE_COLUMNS:]
    assert all("保险到期日" in f.read_text(encoding="gbk").splitlines()[0] for f in with_columns)
    assert all(
        "保险到期日" not in f.read_text(encoding="gbk").splitlines()[0] for f in files[:-FILES_WITH_INSURANCE_COLUMNS]
    )
    statuses = query(
        warehouse_url, "select source_file, status from raw._batches where feed = 'aftersales_ro' order by 1"
    )
    assert statuses == [(f.name, "loaded") for f in files]  # both versions, one run
    # older files: the two columns empty; newer files: recorded for most repair orders
    older = scalar(
        warehouse_url,
        "select count(*) from raw.aftersales_ro where insurance_expiry_text is not null and _source_file = any(%s)",
        ([f.name for f in files[:-FILES_WITH_INSURANCE_COLUMNS]],),
    )
    assert older == 0
    warnings = query(
        warehouse_url, "select source_file, source_row_number, cell_value, ro_no from marts.rpt_load_warnings"
    )
    # the generator planted one 待确认 in the second-to-last file: the warning names that file, its line and value
    assert [(w[0], w[2]) for w in warnings] == [(files[-2].name, NOT_A_DATE)]
    line = files[-2].read_text(encoding="gbk").splitlines()[warnings[0][1] - 1]
    assert line.startswith(warnings[0][3] + ",") and f",{NOT_A_DATE}," in line
    # the repair order itself loaded: retention and linkage read it
    assert (
        scalar(
            warehouse_url,
            "select count(*) from staging.stg_aftersales__repair_orders where ro_no = %s",
            (warnings[0][3],),
        )
        == 1
    )


# ---- gates, alerts and the other DAGs (issue: GX gates and Airflow orchestration) -------------------------
PUBLISHED_FINGERPRINTED = (
    "fct_policy_transactions",
    "fct_renewal_opportunities",
    "rpt_daily_operations",
    "rpt_weekly_kpis",
    "fct_staff_kpi_monthly",
    "dim_customer",
)


def fingerprints(url: str) -> dict[str, str]:
    return {
        name: scalar(url, f"select md5(string_agg(t::text, '|' order by t::text)) from marts.{name} t")
        for name in PUBLISHED_FINGERPRINTED
    }


@pytest.fixture
def webhook():
    """A local chat hook that records what the failure callback posts."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["DW_ALERT_WEBHOOK"] = f"http://127.0.0.1:{server.server_port}/hook"
    yield received
    os.environ.pop("DW_ALERT_WEBHOOK", None)
    server.shutdown()


def test_critical_defect_stops_the_run_before_dbt_and_holds_only_that_batch(pipeline_runs, warehouse_url, webhook):
    from pipeline.airflow_runner import run_dag
    from tests.exports import CPIC_HEADER, picc_row, write_csv, write_picc

    inbox = Path(pipeline_runs["inbox"])
    # 80% commission: a valid row for ingestion, but a critical expectation (rate ≤ 0.5) fails
    write_picc(
        inbox,
        "20261121_picc_bad_rates.csv",
        [picc_row("PDAA0BAD0001", "LSVAB1234CD567890", "1000.00", rate="80%", sign="2026/11/21", store="S01")],
    )
    write_csv(
        inbox / "insurer_cpic" / "20261121_cpic_fine.csv",
        CPIC_HEADER,
        [
            [
                "ASZZFINE0001",
                "",
                "NEW",
                "950.00",
                "2000.00",
                "",
                "",
                "",
                "0.00",
                "0.20",
                "20261121",
                "20261122",
                "20271121",
                "粤B1",
                "LFVZZ9876YX543210",
                "王五",
                "4403",
                "139",
                "E0001",
                "S01",
            ]
        ],
        "utf-8-sig",
        ";",
    )
    before = fingerprints(warehouse_url)
    state, detail = run_dag(date(2026, 11, 21))
    assert state == "failed"
    assert detail["failed_tasks"] == ["raw_checks"]
    assert detail["task_states"]["dbt.staging"] == "upstream_failed"
    assert fingerprints(warehouse_url) == before  # the marts did not change at all
    statuses = dict(
        query(warehouse_url, "select source_file, status from raw._batches where source_file like '20261121_%%'")
    )
    assert statuses == {"20261121_picc_bad_rates.csv": "held", "20261121_cpic_fine.csv": "loaded"}
    critical = query(
        warehouse_url,
        "select suite, column_name from dq.validation_results where not success "
        "and severity = 'critical' and checkpoint like 'raw_batch_%%'",
    )
    assert ("raw_insurer_picc", "commission_rate") in critical
    assert webhook and "raw_checks" in webhook[0]["text"]["content"]

    # the next run builds the good file; the held one stays out until someone releases it
    state, _ = run_dag(date(2026, 11, 21))
    assert state == "success"
    policies = {
        p
        for (p,) in query(
            warehouse_url,
            "select policy_no from marts.fct_policy_transactions where policy_no in ('PDAA0BAD0001', 'ASZZFINE0001')",
        )
    }
    assert policies == {"ASZZFINE0001"}


def test_row_with_a_staff_code_no_roster_lists_is_held_and_the_run_completes(pipeline_runs, warehouse_url):
    """TEMP-7 is in none of the sample rosters: its policy row is held before dbt (no inferred dim_staff member),
    counted as quarantined in the run summary, and the run completes."""
    from pipeline.airflow_runner import run_dag
    from tests.exports import picc_row, write_picc

    write_picc(
        Path(pipeline_runs["inbox"]),
        "20261121_picc_odd_staff.csv",
        [picc_row("PDAA0WARN0001", "LSVAB1234CD567890", "900.00", sign="2026/11/21", staff="TEMP-7", store="S01")],
    )
    state, summary = run_dag(date(2026, 11, 21))
    assert state == "success"
    reason = "staff code 'TEMP-7' is not in any staff roster (held: loads when a roster lists it)"
    # the summary counts reasons with the quoted values shortened to '…'
    assert summary["ingest"]["reject_reasons"]["insurer_picc: " + reason.replace("'TEMP-7'", "'…'")] == 1
    held = query(
        warehouse_url,
        "select row_number, reason, held_staff_code, released_batch_id from raw._rejects "
        "where source_file = '20261121_picc_odd_staff.csv'",
    )
    assert held == [(2, reason, "TEMP-7", None)]  # the file's only data row, line 2
    assert (
        scalar(warehouse_url, "select count(*) from marts.fct_policy_transactions where policy_no = 'PDAA0WARN0001'")
        == 0
    )
    assert scalar(warehouse_url, "select count(*) from marts.dim_staff where is_inferred") == 0


def test_weekly_report_dag_writes_workbook_and_page_that_tie_to_the_marts(
    pipeline_runs, warehouse_url, smtp_inbox, monkeypatch
):
    import json

    import openpyxl

    from pipeline.airflow_runner import run_dag
    from pipeline.settings import load_settings

    readers = {"weekly_report": ["gm@dealer.test", "finance@dealer.test"]}
    monkeypatch.setenv("AIRFLOW_VAR_DW_MAIL_RECIPIENTS", json.dumps(readers))
    state, _ = run_dag(date(2026, 11, 23), dag_id="dealer_dw_weekly_report", hour=8)  # a Monday
    assert state == "success"
    reports = load_settings().reports
    # the DAG mailed the files it wrote, through Airflow's SMTP connection, to both readers
    [(_, to, message)] = smtp_inbox.messages
    assert sorted(to) == ["finance@dealer.test", "gm@dealer.test"]
    assert message["Subject"] == "保险经营周报 2026-11-16"
    assert attachments(message) == {
        name: (reports / name).read_bytes() for name in ("周报_2026-11-16.xlsx", "周报_2026-11-16.html")
    }
    workbook = openpyxl.load_workbook(reports / "周报_2026-11-16.xlsx", data_only=True)
    assert {
        "经营概览",
        "续保率(当月到期)",
        "新保渗透率",
        "事故车留修率",
        "联动转化",
        "员工排名(当月)",
        "流失原因(近3个到期月)",
        "数据质量警告",
        "滞后项目",
        "续保漏斗(当月到期,按负责人)",
    } <= set(workbook.sheetnames)
    funnel = list(workbook["续保漏斗(当月到期,按负责人)"].iter_rows(values_only=True))
    assert funnel[0][:3] == ("门店", "姓名", "应续") and "续保率目标" in funnel[0]  # names, no staff codes
    funnel_due, funnel_lost_premium = query(
        warehouse_url,
        "select sum(due_count), sum(lost_premium) from marts.rpt_renewal_funnel_staff_monthly "
        "where due_month = '2026-11-01'",
    )[0]
    rate_due = scalar(
        warehouse_url, "select sum(due_count) from marts.rpt_renewal_rate_monthly where due_month = '2026-11-01'"
    )
    assert funnel[-1][0] == "合计" and funnel[-1][2] == funnel_due == rate_due  # one assignee row per opportunity
    assert round(funnel[-1][-1], 2) == float(funnel_lost_premium)
    quality = [row[4] for row in workbook["数据质量警告"].iter_rows(values_only=True)]
    assert any(value and "待确认" in value for value in quality)  # the load warning reaches the DQ section
    renewal = list(workbook["续保率(当月到期)"].iter_rows(values_only=True))
    assert renewal[0] == ("门店", "应续", "已续", "战败", "待续", "续保率")
    due, renewed = query(
        warehouse_url,
        "select sum(due_count), sum(renewed_count) from marts.rpt_renewal_rate_monthly where due_month = '2026-11-01'",
    )[0]
    assert renewal[-1][:3] == ("合计", due, renewed)
    stores = list(workbook["门店保费合计"].iter_rows(values_only=True))
    week_premium = scalar(
        warehouse_url,
        "select sum(premium) from marts.rpt_daily_operations where business_date between '2026-11-16' and '2026-11-22'",
    )
    assert round(stores[-1][1], 2) == float(week_premium)
    assert workbook["经营概览"].freeze_panes == "A2"
    page = (reports / "周报_2026-11-16.html").read_text(encoding="utf-8")
    for section in (
        "overview",
        "renewal",
        "penetration",
        "retention",
        "linkage",
        "staff",
        "churn",
        "quality",
        "lagging",
        "funnel",
    ):
        assert f'<section id="{section}">' in page
    for chart in ("premium_by_store", "renewal_by_store", "attainment_trend", "churn_reasons", "staff_ranking"):
        assert f'<figure id="chart-{chart}"><svg' in page
    assert "保险业务周报" in page and "续保率" in page


def test_maintenance_dag_prunes_by_retention(pipeline_runs, warehouse_url):
    from pipeline.airflow_runner import run_dag
    from pipeline.settings import load_settings

    archive = load_settings().archive
    old = archive / "insurer_picc" / "2019" / "01" / "20190105_picc_policies.csv"
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_text("old")
    with psycopg_connect(warehouse_url) as conn:
        conn.execute(
            "insert into dq.validation_results (run_id, as_of, checkpoint, suite, expectation, severity, "
            "success) values ('old-run', '2025-01-01', 'raw', 's', 'e', 'warning', false)"
        )
    kept = sum(1 for p in archive.rglob("*") if p.is_file()) - 1
    state, _ = run_dag(date(2026, 11, 22), dag_id="dealer_dw_maintenance", hour=3)  # a Sunday
    assert state == "success"
    assert not old.exists()  # older than 730 days
    assert sum(1 for p in archive.rglob("*") if p.is_file()) == kept  # recent archives stay
    assert scalar(warehouse_url, "select count(*) from dq.validation_results where run_id = 'old-run'") == 0


def psycopg_connect(url: str):
    import psycopg

    return psycopg.connect(url)


def test_weekly_report_renders_in_headless_chromium(pipeline_runs):
    from reports.render import chromium, render

    if chromium() is None:
        pytest.skip("Chromium is not installed (apt-get install chromium fonts-noto-cjk); .ci/run installs it")
    from pipeline.settings import load_settings

    page = load_settings().reports / "周报_2026-11-16.html"
    png, pdf = render(page)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 50_000
    # the per-person funnel with targets comes right after the store renewal rates, inside the screenshot's first
    # 2,600 pixels (checked by eye once: its 13 staff rows and the 续保率目标 column show); its table is in the page
    html = page.read_text(encoding="utf-8")
    assert (
        html.index('<section id="renewal">')
        < html.index('<section id="funnel">')
        < html.index('<section id="penetration">')
    )
    assert "<th>续保率目标</th>" in html
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000


def test_docs_site_renders_offline_with_the_rules_catalogue(pipeline_runs):
    """`make docs`: dbt's docs show the rules catalogue and Data Docs style their tables with no network at all
    (Chromium offline: on the pages as GX writes them, with CDN addresses, the tables stay unstyled)."""
    from pipeline import docs_site
    from pipeline.settings import load_settings
    from reports.render import chromium, dump_dom

    if chromium() is None:
        pytest.skip("Chromium is not installed (apt-get install chromium fonts-noto-cjk); .ci/run installs it")
    site = docs_site.build(AS_OF).parent
    assert "Where the rules are" in dump_dom(site / "dbt" / "index.html")  # __overview__, drawn by dbt's page
    assert "doc.dealer_dw.rule_renewal_rate" in (site / "dbt" / "index.html").read_text()  # the catalogue's blocks
    styled = 'class="bootstrap-table bootstrap4'  # what jQuery + bootstrap-table make of a Data Docs table
    assert styled in dump_dom(site / "data_docs" / "index.html")
    assert styled not in dump_dom(load_settings().home / "data_docs" / "index.html")
    packages = docs_site.load_packages()
    for page in (site / "data_docs").rglob("*.html"):
        assert docs_site.localise(page, packages, site / "vendor", site / "logo.png") == [], page


def test_the_run_made_raw_as_the_loader_and_the_marts_as_the_transformer(pipeline_runs, warehouse_url):
    """Least privilege per step (pipeline/roles.py): what each step made is owned by its login, nothing by the
    superuser, which only bootstraps."""
    owners = query(
        warehouse_url,
        "select n.nspname, pg_get_userbyid(c.relowner), count(*) from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'v') "
        "and n.nspname in ('raw', 'staging', 'intermediate', 'marts', 'bi') group by 1, 2 order by 1, 2",
    )
    assert [(schema, owner) for schema, owner, _ in owners] == [
        ("bi", "dw_transformer"),
        ("intermediate", "dw_transformer"),
        ("marts", "dw_transformer"),
        ("raw", "dw_loader"),
        ("staging", "dw_transformer"),
    ]
