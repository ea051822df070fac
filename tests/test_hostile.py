"""Hostile users and hostile inputs (issue 20): each case asserts the exact outcome against real components.

Users: the embedded server trusts nobody (SCRAM passwords kept in DW_HOME/secrets), a store manager's password
is checked, another OS user on the machine cannot get in. Files: export text written into workbooks stays text,
CSV cells are neutralised, codes are sanitised in file and sheet names, outputs are 0640 in 0750 folders and
written atomically, the archive compares checksums. Runs: the raw gate sees every batch not yet validated, one
run holds the warehouse at a time, DW_INBOX and DW_DATABASE_URL problems are told before Airflow starts.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import stat
import struct
import subprocess
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import psycopg
import pytest

from ingestion.loader import Loader, ingest_inbox
from pipeline import run_lock
from pipeline.database import (
    DatabaseUnavailable,
    airflow_metadata_url,
    ensure_database,
    ensure_external_database,
    stop_embedded,
)
from pipeline.settings import load_settings
from reports.due_lists import write_due_lists
from reports.safe_output import csv_cell, file_part, safe_workbook, sheet_name, write_csv
from tests.conftest import query
from tests.exports import paic_row, picc_row, write_paic, write_picc, write_roster

AS_OF = date(2026, 3, 31)
VIN_A = "LSVAB1234CD567890"
VIN_B = "LFVZZ9876YX543210"
HOSTILE_TEXT = ['=HYPERLINK("http://evil.example/x","点我")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another OS user")


@pytest.fixture
def roster(fresh_db, tmp_path):
    """The warehouse first loads a staff roster listing the exports' sellers (E0001, E0002), as production does:
    without one their rows would be held (ingestion/staff_hold.py)."""
    write_roster(tmp_path / "roster", "20200101_staff.csv", {"E0001": "S01", "E0002": "S01"})
    ingest_inbox(fresh_db, tmp_path / "roster", tmp_path / "roster_archive")


def url_with(url: str, user: str, database: str | None = None) -> str:
    host_part = url.split("@", 1)[1]
    base = f"postgresql://{user}@{host_part}"
    return base if database is None else base.rsplit("/", 1)[0] + f"/{database}"


# ---- 1. authentication ------------------------------------------------------------------------------------
def test_embedded_server_has_no_trust_line_and_its_secrets_are_private(warehouse_url):
    settings = load_settings()
    lines = [
        line.split()
        for line in (settings.pgdata / "pg_hba.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # only loopback TCP lines, every one SCRAM: no trust, no peer, no local socket
    assert lines == [
        ["host", "all", "all", "127.0.0.1/32", "scram-sha-256"],
        ["host", "all", "all", "::1/128", "scram-sha-256"],
    ]
    secrets = settings.home / "secrets"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    files = sorted(secrets.iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert query(warehouse_url, "select rolpassword like 'SCRAM-SHA-256$%%' from pg_authid where rolname = 'postgres'")[
        0
    ][0]


def test_superuser_without_its_password_is_refused(warehouse_url):
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(warehouse_url, passfile="/dev/null", connect_timeout=5)
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "postgres"'):
        psycopg.connect(warehouse_url, password="guess", passfile="/dev/null", connect_timeout=5)


def test_store_managers_password_is_checked(warehouse_url, capsys):
    from pipeline.cli import main

    assert main(["roles", "add-manager", "hostile_manager_s01", "S01", "--password", "right-pw"]) == 0
    login = url_with(warehouse_url, "hostile_manager_s01")
    with psycopg.connect(login, password="right-pw", passfile="/dev/null") as conn:
        assert conn.execute("select current_user").fetchone()[0] == "hostile_manager_s01"
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "hostile_manager_s01"'):
        psycopg.connect(login, password="wrong-pw", passfile="/dev/null", connect_timeout=5)


STARTUP_PROBE = r"""
import socket, struct, sys
port, secret = int(sys.argv[1]), sys.argv[2]
try:
    open(secret).read()
    print("secret readable")
except PermissionError:
    print("secret unreadable")
params = b"user\0postgres\0database\0postgres\0\0"
body = struct.pack("!I", 196608) + params
with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
    s.sendall(struct.pack("!I", len(body) + 4) + body)
    kind = s.recv(1)
    length = struct.unpack("!I", s.recv(4))[0]
    payload = s.recv(length - 4)
    print(kind.decode(), struct.unpack("!I", payload[:4])[0] if kind == b"R" else payload[:80])
"""


@as_root
def test_another_os_user_cannot_read_the_secrets_or_connect_without_a_password(warehouse_url, tmp_path):
    settings = load_settings()
    probe = Path(tempfile.mkdtemp()) / "probe.py"
    probe.write_text(STARTUP_PROBE)
    probe.parent.chmod(0o755)
    probe.chmod(0o644)
    try:
        secret = settings.home / "secrets" / "postgres.password"
        out = subprocess.run(
            ["runuser", "-u", "nobody", "--", "/usr/bin/python3", str(probe), str(settings.pg_port), str(secret)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        shutil.rmtree(probe.parent)
    # the secret cannot be read; the server answers `nobody`'s startup with a SASL request (R, 10), never with
    # AuthenticationOk (R, 0) as a trust line would
    assert out.stdout.split("\n")[:2] == ["secret unreadable", "R 10"], out.stderr


# ---- 2. spreadsheet and file-name injection -----------------------------------------------------------------
def test_export_text_is_written_as_text_and_csv_cells_are_neutralised(tmp_path):
    path = tmp_path / "out" / "book.xlsx"
    with safe_workbook(path) as book:
        sheet = book.add_worksheet(sheet_name("E01/[x]:*?"))
        sheet.write_row(0, 0, HOSTILE_TEXT)
    cells = next(openpyxl.load_workbook(path).worksheets[0].iter_rows())
    assert [c.value for c in cells] == HOSTILE_TEXT  # the same strings read back ...
    assert [c.data_type for c in cells] == ["s", "s", "s", "s"]  # ... as strings, not formulas ('f')
    assert openpyxl.load_workbook(path).sheetnames == ["E01__x____"]  # / [ and ] : * ? each become _
    write_csv(tmp_path / "out" / "list.csv", ["name", "amount"], [[text, -5] for text in HOSTILE_TEXT])
    with (tmp_path / "out" / "list.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1:] == [["'" + text, "-5"] for text in HOSTILE_TEXT]  # text gets ', the number stays a number
    assert csv_cell("S01") == "S01" and csv_cell(12) == 12
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o750
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


def test_names_from_exports_cannot_escape_or_break_file_and_sheet_names():
    assert file_part("../../etc/passwd") == "etc_passwd"
    assert file_part("S01") == "S01"
    assert file_part("店/01\x00") == "店_01"
    taken: set[str] = set()
    assert sheet_name("x" * 40, taken) == "x" * 31
    assert sheet_name("X" * 40, taken) == "X" * 29 + "~2"  # Excel compares sheet names case-blind
    assert sheet_name("'quoted'") == "quoted"


def test_failed_write_leaves_no_file_that_looks_current(tmp_path):
    path = tmp_path / "reports" / "周报.xlsx"
    path.parent.mkdir()
    path.write_bytes(b"last week's report")
    with pytest.raises(RuntimeError), safe_workbook(path) as book:
        book.add_worksheet("a").write(0, 0, "half")
        raise RuntimeError("disk went away")
    assert path.read_bytes() == b"last week's report"
    assert sorted(p.name for p in path.parent.iterdir()) == ["周报.xlsx"]


DUE_LIST_TABLES = (
    """
    create table marts.rpt_renewal_due_list_contacts (
        store_code text, assigned_staff_id text, assigned_team text, vin text, plate text, expiring_policy_no text,
        insurer_code text, due_date date, days_to_expiry int, contact_window_days int, contact_60_date date,
        contact_30_date date, contact_15_date date, last_followup_date date, last_followup_result text,
        pool_type text, assignment_reason text, insured_name text, insured_phone text
    )
    """,
    "create table marts.dim_staff (staff_id text, staff_name text)",
)


def test_due_lists_from_hostile_codes_and_names(fresh_db, tmp_path):
    with psycopg.connect(fresh_db) as conn:
        for table in DUE_LIST_TABLES:
            conn.execute(table)
        conn.execute(
            "insert into marts.rpt_renewal_due_list_contacts values ('../S01', '=cmd|x/[1]', 'S01 保险部', %s, "
            "'沪A12345', 'P1', 'PICC', '2026-04-10', 10, 15, '2026-02-09', '2026-03-11', '2026-03-26', null, %s, "
            "'group_renewal', 'seller', %s, '13800138000')",
            (VIN_A, HOSTILE_TEXT[1], HOSTILE_TEXT[0]),
        )
        conn.execute("insert into marts.dim_staff values ('=cmd|x/[1]', %s)", (HOSTILE_TEXT[3],))
    written = write_due_lists(fresh_db, AS_OF, tmp_path / "reports")
    folder = tmp_path / "reports" / "due_lists"
    # the store code loses its path: the files stay in due_lists/, named from 'S01'
    assert [p.name for p in written["../S01"]] == ["应续清单_S01_2026-03-31.xlsx", "应续清单_S01_2026-03-31.csv"]
    book = openpyxl.load_workbook(folder / "应续清单_S01_2026-03-31.xlsx")
    # the assignee's sheet: id and name, / [ ] : removed; a name is a label, never evaluated
    assert book.sheetnames == ["=cmd|x__1_ @SUM(A1_A9)", "图例"]
    row = list(book.worksheets[0][2])
    for column, expected in ((14, HOSTILE_TEXT[0]), (11, HOSTILE_TEXT[1]), (16, "=cmd|x/[1]"), (17, HOSTILE_TEXT[3])):
        assert row[column].value == expected and row[column].data_type == "s", column
    with (folder / "应续清单_S01_2026-03-31.csv").open(encoding="utf-8-sig", newline="") as handle:
        cells = list(csv.reader(handle))[1]
    assert cells[14] == "'" + HOSTILE_TEXT[0] and cells[16] == "'=cmd|x/[1]" and cells[17] == "'" + HOSTILE_TEXT[3]
    assert cells[15] == "13800138000"
    assert {stat.S_IMODE(p.stat().st_mode) for p in written["../S01"]} == {0o640}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750


# ---- archive: checksums, not sizes; private modes -----------------------------------------------------------
def test_archive_compares_checksums_and_keeps_both_versions_of_a_name(fresh_db, tmp_path):
    first, second = tmp_path / "a" / "20260307_picc.csv", tmp_path / "b" / "20260307_picc.csv"
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_bytes(b"version 1 of the export\n")
    second.write_bytes(b"version 2 of the export\n")  # the same size, other bytes
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        loader = Loader(conn, tmp_path / "archive")
        kept = loader.archive_file("insurer_picc", first, date(2026, 3, 7))
        other = loader.archive_file("insurer_picc", second, date(2026, 3, 7))
        again = loader.archive_file("insurer_picc", first, date(2026, 3, 7))
    import hashlib

    digest = hashlib.sha256(second.read_bytes()).hexdigest()
    assert kept.name == "20260307_picc.csv" and kept.read_bytes() == first.read_bytes()
    assert other.name == f"20260307_picc.{digest[:12]}.csv" and other.read_bytes() == second.read_bytes()
    assert again == kept
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    for folder in (tmp_path / "archive", tmp_path / "archive" / "insurer_picc", kept.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o750


# ---- 3. the raw gate sees every batch not yet validated -----------------------------------------------------
@pytest.mark.usefixtures("roster")
def test_raw_gate_sees_batches_loaded_outside_a_run(fresh_db, tmp_path):
    from expectations.runner import run_raw_checkpoint
    from pipeline.steps import mark_validated, unvalidated_batches

    inbox = tmp_path / "inbox"
    write_picc(inbox, "20260307_picc.csv", [picc_row("PDAA1", VIN_A, "1000.00")])
    ingest_inbox(fresh_db, inbox, tmp_path / "archive")  # what `pipeline ingest` does: no gate ran
    write_picc(inbox, "20260308_picc.csv", [picc_row("PDAA2", VIN_B, "2000.00")])
    ingest_inbox(fresh_db, inbox, tmp_path / "archive")  # a crashed run: loaded, never gated
    batches = [b for (b,) in query(fresh_db, "select batch_id from raw._batches order by batch_id")]
    assert len(batches) == 3  # the roster's and the two policy files'
    # the next run's own batch list is empty, yet both waiting batches are gated
    pending = unvalidated_batches(fresh_db, [])
    assert pending == batches
    result = run_raw_checkpoint(fresh_db, "hostile-gate", AS_OF, pending)
    assert result.success
    mark_validated(fresh_db, pending)
    assert unvalidated_batches(fresh_db, []) == []


# ---- 6. one run at a time -----------------------------------------------------------------------------------
def test_second_run_while_one_holds_the_warehouse_exits_3_with_the_readme_message(warehouse_url, capsys):
    from pipeline.cli import main

    holder = subprocess.Popen(["sleep", "120"])  # a live process of another run holds the warehouse
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute(
            "insert into ops.run_lock (id, holder, pid, host) values (1, 'scheduled__2026-03-31T06:00', %s, %s)",
            (holder.pid, socket.gethostname()),
        )
    try:
        assert main(["ingest"]) == 3
        error = capsys.readouterr().err
        assert error.startswith(
            "error: another pipeline run is loading the inbox right now; this run loaded nothing "
            "(the warehouse is held by scheduled__2026-03-31T06:00 since "
        )
        with pytest.raises(run_lock.RunLocked):
            run_lock.acquire(warehouse_url, "backfill__2026-03-30")
    finally:
        holder.kill()
        holder.wait()
        run_lock.release(warehouse_url, "scheduled__2026-03-31T06:00")
    assert query(warehouse_url, "select count(*) from ops.run_lock") == [(0,)]


def test_a_dead_holder_is_taken_over(warehouse_url):
    dead = subprocess.Popen(["true"])
    dead.wait()
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute(
            "insert into ops.run_lock (id, holder, pid, host) values (1, 'crashed run', %s, %s)",
            (dead.pid, socket.gethostname()),
        )
    run_lock.acquire(warehouse_url, "next run")
    assert query(warehouse_url, "select holder from ops.run_lock") == [("next run",)]
    run_lock.release(warehouse_url, "next run")


def test_two_dbt_builds_never_run_at_once(warehouse_url):
    busy = pytest.raises(run_lock.RunLocked, match="another dbt build is running on this warehouse")
    with run_lock.dbt_lock(warehouse_url), busy, run_lock.dbt_lock(warehouse_url):
        pass
    with run_lock.dbt_lock(warehouse_url):  # released
        pass


# ---- 9. for whoever runs it ---------------------------------------------------------------------------------
def test_missing_inbox_is_reported_before_airflow_starts(monkeypatch, capsys, tmp_path):
    from pipeline.cli import main

    monkeypatch.setenv("DW_INBOX", str(tmp_path / "no-such-inbox"))
    assert main(["run"]) == 2
    assert capsys.readouterr().err == (
        f"error: DW_INBOX={tmp_path / 'no-such-inbox'} is not a folder (it should hold one sub-folder of exports "
        "per feed); fix it, or unset DW_INBOX to run on generated sample exports\n"
    )


def test_database_url_whose_database_is_missing(warehouse_url):
    with psycopg.connect(url_with(warehouse_url, "postgres", "postgres"), autocommit=True) as conn:
        for role, rights in (("hostile_plain", ""), ("hostile_creator", "createdb")):
            if not conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
                conn.execute(f"create role {role} login password 'pw' {rights}")
        conn.execute("drop database if exists hostile_new with (force)")
    host = warehouse_url.split("@", 1)[1].rsplit("/", 1)[0]
    plain = f"postgresql://hostile_plain:pw@{host}/hostile_missing"
    with pytest.raises(DatabaseUnavailable) as error:
        ensure_external_database(plain, "DW_DATABASE_URL")
    assert 'Ask the server\'s administrator to run: create database "hostile_missing" owner "hostile_plain";' in str(
        error.value
    )
    assert ":pw@" not in str(error.value)
    creator = f"postgresql://hostile_creator:pw@{host}/hostile_new"
    assert ensure_external_database(creator, "DW_DATABASE_URL") == creator  # created, since the role may
    assert query(
        url_with(warehouse_url, "postgres", "postgres"),
        "select count(*) from pg_database where datname = 'hostile_new'",
    ) == [(1,)]
    settings = load_settings({"DW_DATABASE_URL": creator, "DW_AIRFLOW_DATABASE_URL": f"postgresql://af:x@{host}/af"})
    assert airflow_metadata_url(settings) == f"postgresql+psycopg://af:x@{host}/af"


def test_lets_the_server_user_into_a_private_folder_without_opening_it_to_others(tmp_path):
    private = Path(tempfile.mkdtemp(prefix="dw-private-"))  # mode 0700, like `mktemp -d`
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        settings = load_settings({"DW_HOME": str(private / "project" / ".dw"), "DW_PG_PORT": str(port)})
        (private / "project").mkdir()
        url = ensure_database(settings)
        try:
            with psycopg.connect(url) as conn:
                assert conn.execute("select 1").fetchone() == (1,)
        finally:
            stop_embedded(settings)
        mode = private.stat().st_mode
        assert mode & 0o007 == 0  # still closed to other users: only the server's user got an ACL entry
        if os.geteuid() == 0:
            import pwd

            uid = pwd.getpwnam("embedded_postgres").pw_uid
            raw = os.getxattr(private, "system.posix_acl_access")
            entries = [struct.unpack_from("<HHI", raw, offset) for offset in range(4, len(raw), 8)]
            assert (0x02, 1, uid) in entries  # user:embedded_postgres:--x
            denied = subprocess.run(["runuser", "-u", "nobody", "--", "test", "-x", str(private / "project")])
            assert denied.returncode == 1
    finally:
        shutil.rmtree(private, ignore_errors=True)


# ---- 5. the run summary's columns ---------------------------------------------------------------------------
def test_summary_columns_line_up(capsys, tmp_path):
    from pipeline.airflow_runner import print_summary

    counts = {"files": 7, "rows_loaded": 1200, "rows_rejected": 3, "duplicates": 1, "already_loaded": 2}
    summary = {
        "as_of": "2026-03-31",
        "ingest": {
            "feeds": {"insurer_picc": counts | {"waiting": 4, "failed": 5}},
            "reject_reasons": {},
            "failures": [],
        },
        "raw_checks": {},
        "mart_checks": {"summary": "ok"},
        "dbt": {"statuses": {}},
        "mart_rows": {},
    }
    print_summary(summary, load_settings({"DW_HOME": str(tmp_path)}), 1.0)
    line = next(line for line in capsys.readouterr().out.splitlines() if "insurer_picc" in line)
    cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
    # feed, files, rows loaded, rows rejected, re-delivered, already loaded, waiting, failed files
    assert cells == ["insurer_picc", "7", "1,200", "3", "1", "2", "4", "5"]


# ---- 4. one bad file or row never blocks the others ---------------------------------------------------------
@pytest.mark.usefixtures("roster")
def test_bad_files_fail_alone_and_the_valid_file_loads(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    good = write_picc(inbox, "20260305_good.csv", [picc_row("PDAA1", VIN_A, "1000.00")])
    nul = write_picc(inbox, "20260306_nul.csv", [picc_row("PDAA2", VIN_B, "2000.00")])
    nul.write_bytes(nul.read_bytes().replace(b"PDAA2", b"PD\x00A2"))
    impossible = write_picc(inbox, "20261399_picc.csv", [picc_row("PDAA3", VIN_B, "3000.00")])
    results = {r.file: r for r in ingest_inbox(fresh_db, inbox, tmp_path / "archive", as_of=AS_OF)}
    assert results[good.name].status == "loaded" and results[good.name].rows_loaded == 1
    assert results[nul.name].status == "failed"
    assert results[nul.name].message.startswith("the warehouse refused this file's rows: ")
    # a name with an impossible date is not left waiting forever for a later as-of date: it fails, recorded
    assert (results[impossible.name].status, results[impossible.name].message) == (
        "failed",
        "file name '20261399_picc.csv' does not start with a real date: month must be in 1..12",
    )
    assert query(fresh_db, "select policy_no from raw.insurer_picc") == [("PDAA1",)]
    assert query(fresh_db, "select source_file, status from raw._batches where feed <> 'dms_staff' order by 1") == [
        ("20260305_good.csv", "loaded"),
        ("20260306_nul.csv", "failed"),
        ("20261399_picc.csv", "failed"),
    ]


@pytest.mark.usefixtures("roster")
def test_foreign_amount_formats_are_quarantined_not_reinterpreted(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    write_picc(
        inbox,
        "20260307_amounts.csv",
        [
            picc_row("PDAA1", VIN_A, "1,234.50"),  # thousands separator: 1234.50
            picc_row("PDAA2", VIN_B, "1.234,50"),  # a European amount: rejected, not 1.23
            picc_row("PDAA3", "LGXCE4CB8N0123456", "1,2,3"),  # stray commas: rejected, not 123
            picc_row("PDAA4", "LGXCE4CB8N012345O", "100.00"),  # O is never in a VIN
        ],
    )
    result = ingest_inbox(fresh_db, inbox, tmp_path / "archive")[0]
    assert (result.rows_loaded, result.rows_rejected) == (1, 3)
    assert query(fresh_db, "select policy_no, premium from raw.insurer_picc") == [("PDAA1", Decimal("1234.50"))]
    reasons = [r for (r,) in query(fresh_db, "select reason from raw._rejects order by row_number")]
    assert reasons[0].startswith("保费: '1.234,50' is not an amount")
    assert reasons[1].startswith("保费: '1,2,3' is not an amount")
    assert reasons[2] == "车架号: 'LGXCE4CB8N012345O' has characters a VIN cannot have"


@pytest.mark.slow
def test_implausible_dates_unknown_stores_and_staff_are_quarantined_or_held_before_dbt(
    fresh_db, tmp_path, monkeypatch, capsys
):
    """Each bad row quarantined with its reason at load, its file's other rows loaded, dbt builds clean; the steps
    connect as their own logins (the owners of what they made) and the raw gate says when nothing is pending.
    A row whose seller no roster lists is held (no phantom dim_staff member) and loads when a later roster lists
    the seller; a third run releases nothing twice."""
    from ingestion.staff_hold import held_rows
    from pipeline import steps
    from pipeline.cli import main as cli_main

    inbox = tmp_path / "inbox"
    write_roster(inbox, "20260306_staff.csv", {"E0001": "S01"})  # batch 1: the roster loads before the policies
    write_picc(
        inbox,
        "20260307_reference.csv",
        [
            picc_row("PDAA1", VIN_A, "1000.00"),
            picc_row("PDAA2", VIN_B, "2000.00", sign="1900/1/1"),  # before seed insurance_parameters' 2015
            picc_row("PDAA3", "LGXCE4CB8N0123456", "3000.00", start="2199-03-08", end="2200-03-07"),  # after 2035
            picc_row("PDAA4", "LGXCE4CB8N0123457", "4000.00", store="S99"),  # not in seed stores (S01..S08)
            picc_row("PDAA5", "LGXCE4CB8N0123458", "500.00", store="S02"),
            picc_row("PDAA6", "LGXCE4CB8N0123459", "600.00", store="S08"),
            picc_row("PDAA7", "LGXCE4CB8N0123460", "700.00"),
            picc_row("PDAA8", "LGXCE4CB8N0123461", "2,000.00", detail="车损险:2,000.00", staff="E0099"),  # a new hire
        ],
    )
    monkeypatch.setenv("DW_DATABASE_URL", fresh_db)
    settings = load_settings({"DW_DATABASE_URL": fresh_db, "DW_HOME": str(tmp_path / "home"), "DW_INBOX": str(inbox)})
    ingested = steps.ingest("hostile-reference", AS_OF, settings)
    feed = ingested["feeds"]["insurer_picc"]
    # 8 rows, 3 quarantined and 1 held: the raw gate's reject share counts 3/8, under its limit of half a file
    # (held rows are valid: a lagging roster is not a broken export)
    assert (feed["rows_loaded"], feed["rows_rejected"], feed["failed"]) == (4, 4, 0)
    held = "staff code 'E0099' is not in any staff roster (held: loads when a roster lists it)"
    assert query(fresh_db, "select row_number, reason, held_staff_code from raw._rejects order by row_number") == [
        (3, "签单日期: '1900/1/1' is outside the plausible dates 2015-01-01 to 2035-12-31", None),
        (
            4,
            "起保日期: '2199-03-08' is outside the plausible dates 2015-01-01 to 2035-12-31; "
            "终保日期: '2200-03-07' is outside the plausible dates 2015-01-01 to 2035-12-31",
            None,
        ),
        (5, "门店代码: 'S99' is not a store of seed stores", None),
        (9, held, "E0099"),  # the 8th data row: line 9 (the header is line 1)
    ]
    assert query(fresh_db, "select policy_no from raw.insurer_picc order by 1") == [
        ("PDAA1",),
        ("PDAA5",),
        ("PDAA6",),
        ("PDAA7",),
    ]
    # the insurance manager's list (`pipeline held`): E0099, PICC, S01, 1 row, the delivered '2,000.00'
    with psycopg.connect(fresh_db) as conn:
        assert held_rows(conn) == [("E0099", "insurer_picc", "S01", 1, Decimal("2000.00"))]
    monkeypatch.setenv("DW_HOME", str(tmp_path / "home"))
    capsys.readouterr()
    assert cli_main(["held"]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "staff code | feed | store | rows | premium (held until a staff roster lists the code)",
        "E0099 | insurer_picc | S01 | 1 | 2,000.00",
    ]
    gate = steps.raw_checks("hostile-reference", AS_OF, ingested["new_batches"])
    assert gate["summary"].startswith("raw_checkpoint: passed")
    # the share the gate saw: 3 of 8 (the warning above a tenth fires), not the 4 of 8 that would count the held row
    shares = query(
        fresh_db,
        "select observed -> 'partial_unexpected_list' from dq.validation_results where suite = 'raw_batches' "
        "and column_name = 'reject_share' and severity = 'warning'",
    )
    assert shares == [([3 / 8],)]
    steps.dbt_build(AS_OF, settings)  # raises DbtFailed on any failing test, relationships included
    # the four valid policies' one 车损险 line each is the whole fact; no phantom store S99 in the store dimension
    facts = "select policy_no, store_code, premium from marts.fct_policy_transactions order by 1"
    assert query(fresh_db, facts) == [
        ("PDAA1", "S01", Decimal("1000.00")),
        ("PDAA5", "S02", Decimal("500.00")),
        ("PDAA6", "S08", Decimal("600.00")),
        ("PDAA7", "S01", Decimal("700.00")),
    ]
    assert query(fresh_db, "select count(*) from marts.dim_store where store_code = 'S99'") == [(0,)]
    # and no phantom staff member: the roster's E0001 only
    assert query(fresh_db, "select staff_id, is_inferred from marts.dim_staff") == [("E0001", False)]
    # ingestion made raw as dw_loader, dbt made the marts and BI's views as dw_transformer
    owners = "select pg_get_userbyid(relowner) from pg_class where oid = %s::regclass"
    assert query(fresh_db, owners, ("raw.insurer_picc",)) == [("dw_loader",)]
    assert query(fresh_db, owners, ("marts.fct_policy_transactions",)) == [("dw_transformer",)]
    assert query(fresh_db, owners, ("bi.fct_policy_transactions",)) == [("dw_transformer",)]

    # the roster catches up: the next run releases PDAA8 as a new batch, the gate checks it, dbt picks it up
    write_roster(inbox, "20260308_staff.csv", {"E0001": "S01", "E0099": "S01"})  # batch 3
    second = steps.ingest("hostile-staff-release", AS_OF, settings)
    released = query(
        fresh_db,
        "select batch_id, source_file, export_date, status, rows_loaded, rows_rejected, message from raw._batches "
        "where batch_id > 3",
    )
    assert released == [
        (
            4,
            "20260307_reference.csv (released from batch 2)",
            date(2026, 3, 7),  # the original export date: the newest export still wins in staging
            "loaded",
            1,
            0,
            "released 1 held row(s) of batch 2 (20260307_reference.csv): staff code E0099 is in a staff roster now",
        )
    ]
    assert second["released"] == [f"insurer_picc/{released[0][1]}: {released[0][6]}"]  # a line of the run summary
    assert second["new_batches"] == [3, 4]  # the new roster and the released rows
    assert query(fresh_db, "select released_batch_id from raw._rejects where row_number = 9") == [(4,)]
    assert steps.raw_checks("hostile-staff-release", AS_OF, second["new_batches"])["summary"].startswith(
        "raw_checkpoint: passed"
    )
    steps.dbt_build(AS_OF, settings)
    # 1,000.00 + 500.00 + 600.00 + 700.00 + 2,000.00 = 4,800.00 over 5 policies
    assert query(fresh_db, "select count(*), sum(premium) from marts.fct_policy_transactions") == [
        (5, Decimal("4800.00"))
    ]
    assert query(
        fresh_db, "select store_code, staff_id from marts.fct_policy_transactions where policy_no = 'PDAA8'"
    ) == [("S01", "E0099")]
    assert query(fresh_db, "select staff_id, is_inferred from marts.dim_staff order by 1") == [
        ("E0001", False),
        ("E0099", False),
    ]
    with psycopg.connect(fresh_db) as conn:
        assert held_rows(conn) == []
    # a third run: no file is new and nothing is released twice; the gate says nothing is pending
    assert steps.ingest("hostile-staff-again", AS_OF, settings)["new_batches"] == []
    assert query(fresh_db, "select count(*) from raw._batches") == [(4,)]
    assert steps.raw_checks("hostile-reference-2", AS_OF, [])["summary"] == (
        "raw_checkpoint: nothing pending (no loaded batch waits for the raw gate)"
    )


# ---- 5. the inbox is not trusted ----------------------------------------------------------------------------
@pytest.mark.usefixtures("roster")
def test_links_sub_folders_fifos_odd_names_and_half_written_files_are_refused_or_wait(fresh_db, tmp_path):
    inbox = tmp_path / "inbox"
    good = write_picc(inbox, "20260305_good.csv", [picc_row("PDAA1", VIN_A, "1000.00")])
    secret = tmp_path / "secret.csv"
    secret.write_text("not for the warehouse\n")
    (inbox / "insurer_picc" / "20260306_link.csv").symlink_to(secret)
    (inbox / "insurer_picc" / "old").mkdir()  # a sub-folder with an export in it
    (inbox / "insurer_picc" / "old" / "20260301_old.csv").write_bytes(good.read_bytes())
    os.mkfifo(inbox / "insurer_picc" / "20260306_pipe.csv")
    odd = os.fsencode(str(inbox / "insurer_picc")) + b"/20260306_\xff.csv"
    with open(odd, "wb") as handle:
        handle.write(good.read_bytes())
    half = inbox / "insurer_picc" / "20260307_half.csv"
    half.write_bytes(good.read_bytes() + b"PDAA9,")  # the exporter is still writing its last line
    results = ingest_inbox(fresh_db, inbox, tmp_path / "archive")
    outcome = {(r.file, r.status): r.message for r in results}
    assert outcome == {
        ("20260306_link.csv", "refused"): "a symbolic link; the inbox takes real files only",
        ("old", "refused"): "a sub-folder; exports go directly into their feed folder",
        ("20260306_pipe.csv", "refused"): "not a regular file",
        ("20260306_\ufffd.csv", "refused"): (
            "the file name is not valid UTF-8; rename it (the export date first: YYYYMMDD_<name>)"
        ),
        ("20260305_good.csv", "loaded"): None,
        ("20260307_half.csv", "waiting"): "still being written (its last line is incomplete); waits for the next run",
    }
    assert query(fresh_db, "select source_file from raw._batches where feed <> 'dms_staff'") == [("20260305_good.csv",)]
    assert not (tmp_path / "archive" / "insurer_picc" / "2026" / "03" / "20260306_link.csv").exists()


# ---- 7. errors that say what happened -----------------------------------------------------------------------
def test_full_disk_lost_connection_and_refused_statement_are_told_apart(warehouse_url):
    from pipeline.cli import describe_error

    with pytest.raises(OSError) as full, open("/dev/full", "w") as disk:
        disk.write("x" * 100_000)
        disk.flush()
    assert describe_error(full.value) == "the disk is full (a file the pipeline writes): free space, then re-run"
    with psycopg.connect(warehouse_url) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute("select 1 / 0")
    assert describe_error(refused.value) == "the warehouse refused a statement (DivisionByZero: division by zero)"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(psycopg.OperationalError) as lost:
        psycopg.connect(f"postgresql://x:y@127.0.0.1:{closed}/x", connect_timeout=3)
    assert describe_error(lost.value).startswith("lost the connection to the warehouse (connection failed: ")


def test_an_unexpected_failure_reaches_a_person_as_one_line(warehouse_url, capsys, monkeypatch, tmp_path):
    from pipeline.cli import main

    monkeypatch.setenv("DW_REPORTS", str(tmp_path / "not-a-folder"))
    (tmp_path / "not-a-folder").write_text("a file where the reports folder should be")
    assert main(["report", "--date", "2026-03-31"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "Traceback" not in error and error.count("\n") == 1
    log = load_settings().home / "logs" / "pipeline_errors.log"
    assert "Traceback (most recent call last)" in log.read_text()  # kept for whoever debugs it


@pytest.mark.usefixtures("roster")
def test_a_workbook_that_expands_past_the_limit_fails_alone(fresh_db, tmp_path, monkeypatch):
    import zipfile

    from ingestion import readers

    inbox = tmp_path / "inbox"
    good = write_picc(inbox, "20260305_good.csv", [picc_row("PDAA1", VIN_A, "1000.00")])
    book = write_paic(inbox, "20260306_paic.xlsx", [paic_row("PA1", VIN_B, "车损险", 500.0)])
    with zipfile.ZipFile(book) as archive:
        expanded = sum(member.file_size for member in archive.infolist())
    monkeypatch.setattr(readers, "XLSX_MAX_EXPANDED_BYTES", expanded - 1)  # one byte short of this workbook
    results = {r.file: r for r in ingest_inbox(fresh_db, inbox, tmp_path / "archive")}
    assert (results[book.name].status, results[book.name].message) == (
        "failed",
        f"the workbook expands to {expanded:,} bytes, past the limit of {expanded - 1:,} "
        "(DW_XLSX_MAX_EXPANDED_BYTES): split the export, or send it as CSV",
    )
    assert (results[good.name].status, results[good.name].rows_loaded) == ("loaded", 1)
