"""Faults during ingestion: a killed loader, two runs at once, the database stopped, a full disk.

Each test loads an inbox of two small files and one large repair-order file (about 300k rows, GBK CSV)
and compares the warehouse with what one uninterrupted load of the same inbox gives. The loader
commits one transaction per file, so whatever happens, a file is in raw completely or not at all.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from bench.scale import replicate, write_like
from ingestion.feeds import FEEDS
from ingestion.loader import INGEST_LOCK_KEY, StorageError, ingest_inbox
from ingestion.readers import ROW_NUMBER, read_export
from pipeline.database import bootstrap_schema, ensure_database, recreate_database, stop_embedded
from pipeline.settings import PROJECT_DIR, load_settings
from samples import generate_inbox
from tests.conftest import query, scalar

pytestmark = pytest.mark.slow
AS_OF = date(2026, 11, 20)
BIG_FILE = "20261120_repair_orders_all_stores.csv"


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    """Two small exports, then one large one (loaded last: files load in export-date order); the staff rosters load
    first, since rows whose staff code no roster lists are held (ingestion/staff_hold.py)."""
    samples = tmp_path_factory.mktemp("samples")
    generate_inbox(samples, AS_OF)
    inbox = tmp_path_factory.mktemp("inbox")
    for feed, name in (("insurer_picc", "20250531_picc_policies.csv"), ("dms_sales", "20250531_sales.csv")):
        (inbox / feed).mkdir()
        shutil.copy(samples / feed / name, inbox / feed / name)
    shutil.copytree(samples / "dms_staff", inbox / "dms_staff")
    spec = FEEDS["aftersales_ro"]
    repair_orders = read_export(spec, sorted((samples / "aftersales_ro").iterdir())[-1]).frame.sort(ROW_NUMBER)
    (inbox / "aftersales_ro").mkdir()
    copies = 300_000 // repair_orders.height + 1
    write_like(spec, replicate(spec, repair_orders, 0, copies), inbox / "aftersales_ro" / BIG_FILE, AS_OF)
    return inbox


@pytest.fixture(scope="module")
def expected(inbox, warehouse_url, tmp_path_factory) -> dict:
    """The warehouse after one uninterrupted load of the inbox."""
    url = new_database(warehouse_url, "faults_expected")
    ingest_inbox(url, inbox, tmp_path_factory.mktemp("archive"))
    return warehouse_state(url)


def new_database(warehouse_url: str, name: str) -> str:
    url = recreate_database(warehouse_url, name)
    bootstrap_schema(url)
    return url


def warehouse_state(url: str) -> dict:
    """Row counts, money totals and the ledger: what finance would reconcile."""
    return {
        "repair_orders": query(url, "select count(*), count(distinct ro_no), sum(total_amount) from raw.aftersales_ro"),
        "policies": scalar(url, "select count(*) from raw.insurer_picc"),
        "sales": scalar(url, "select count(*) from raw.dms_sales"),
        "rejects": query(url, "select feed, count(*) from raw._rejects group by feed order by feed"),
        "ledger": query(
            url,
            "select feed, source_file, status, rows_read, rows_loaded, rows_rejected from raw._batches "
            "order by feed, source_file",
        ),
    }


def ingest_command(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "ingest"],
        env=env,
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def loader_env(url: str | None, inbox: Path, archive: Path, **extra: str) -> dict[str, str]:
    env = os.environ | {"DW_INBOX": str(inbox), "DW_ARCHIVE": str(archive), "DW_AS_OF": AS_OF.isoformat()} | extra
    if url:
        env["DW_DATABASE_URL"] = url
    return env


def wait_for_copy_into_big_file(url: str, at_least: int = 20_000, timeout: float = 120) -> int:
    """Block until the loader's COPY of the large file has stored `at_least` rows (not yet committed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = query(
            url,
            "select tuples_processed from pg_stat_progress_copy as progress "
            "join pg_class on pg_class.oid = progress.relid where pg_class.relname = 'aftersales_ro'",
        )
        if rows and rows[0][0] >= at_least:
            return rows[0][0]
        time.sleep(0.05)
    raise AssertionError("the loader never reached the large file's COPY")


def wait_until_lock_released(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = scalar(
            url, "select count(*) from pg_locks where locktype = 'advisory' and objid = %s", (INGEST_LOCK_KEY,)
        )
        if not held:
            return
        time.sleep(0.1)
    raise AssertionError("the killed loader's session still holds the ingestion lock")


def test_loader_killed_mid_file_then_rerun_gives_exactly_the_uninterrupted_counts(
    inbox, expected, warehouse_url, tmp_path
):
    url = new_database(warehouse_url, "faults_killed")
    loader = ingest_command(loader_env(url, inbox, tmp_path / "archive"))
    stored = wait_for_copy_into_big_file(url)
    loader.send_signal(signal.SIGKILL)
    loader.wait(timeout=30)
    assert loader.returncode == -signal.SIGKILL
    assert stored >= 20_000  # the kill came in the middle of the large file, rows already sent
    wait_until_lock_released(url)
    # Nothing of the large file survived the kill; the two small files before it were committed.
    assert scalar(url, "select count(*) from raw.aftersales_ro") == 0
    assert scalar(url, "select count(*) from raw._batches where source_file = %s", (BIG_FILE,)) == 0
    assert scalar(url, "select count(*) from raw._batches where status = 'loaded' and feed <> 'dms_staff'") == 2

    ingest_inbox(url, inbox, tmp_path / "archive")
    assert warehouse_state(url) == expected
    ingest_inbox(url, inbox, tmp_path / "archive")  # and a third run changes nothing
    assert warehouse_state(url) == expected


def test_two_runs_at_once_cannot_both_write_and_the_loser_says_so(inbox, expected, warehouse_url, tmp_path):
    url = new_database(warehouse_url, "faults_concurrent")
    env = loader_env(url, inbox, tmp_path / "archive")
    # Started together: both reach the lock within a second; the winner holds it for the large file.
    runs = [ingest_command(env), ingest_command(env)]
    outcomes = sorted((run.wait(timeout=300), run.stderr.read()) for run in runs)
    (winner_code, winner_errors), (loser_code, loser_errors) = outcomes
    assert winner_code == 0, winner_errors
    assert loser_code == 3, loser_errors
    assert "another pipeline run is loading the inbox right now; this run loaded nothing" in loser_errors
    assert "Traceback" not in loser_errors
    assert warehouse_state(url) == expected


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_stopped_mid_run_gives_a_clear_error_and_a_clean_rerun(inbox, expected, tmp_path):
    # A server of its own: the test stops it under the loader's feet.
    home, port = tmp_path / "dw", str(free_port())
    settings = load_settings({"DW_HOME": str(home), "DW_PG_PORT": port})
    env = loader_env(None, inbox, tmp_path / "archive", DW_HOME=str(home), DW_PG_PORT=port)
    env.pop("DW_DATABASE_URL", None)
    url = ensure_database(settings)
    try:
        loader = ingest_command(env)
        wait_for_copy_into_big_file(url)
        stop_embedded(settings)
        _, errors = loader.communicate(timeout=120)
        assert loader.returncode == 3, errors
        assert f"lost the connection to the warehouse while loading aftersales_ro/{BIG_FILE}" in errors
        rosters = len(list((inbox / "dms_staff").iterdir()))  # loaded first, then the two small exports
        assert f"the {rosters + 2} file(s) loaded before it are kept" in errors
        assert "Traceback" not in errors

        rerun = ingest_command(env)  # starts the embedded server again by itself
        _, errors = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, errors
        assert warehouse_state(url) == expected
    finally:
        stop_embedded(settings)


def test_full_disk_while_archiving_is_a_clear_error_and_loads_nothing_of_that_file(inbox, expected, fresh_db, tmp_path):
    archive = tmp_path / "archive"
    target = archive / "aftersales_ro" / "2026" / "11" / BIG_FILE
    target.parent.mkdir(parents=True)
    # The archive copies under a temporary name and renames it: every write to that name fails with ENOSPC, as
    # on a full disk
    draft = target.with_name(f".{BIG_FILE}.{os.getpid()}.part")
    draft.symlink_to("/dev/full")
    with pytest.raises(StorageError) as error:
        ingest_inbox(fresh_db, inbox, archive)
    assert f"cannot archive aftersales_ro/{BIG_FILE}" in str(error.value)
    assert "No space left on device" in str(error.value)
    assert "Nothing was loaded from this file" in str(error.value)
    assert scalar(fresh_db, "select count(*) from raw.aftersales_ro") == 0
    assert scalar(fresh_db, "select count(*) from raw._batches where status = 'loaded' and feed <> 'dms_staff'") == 2

    assert not target.exists() and not draft.is_symlink()  # no truncated copy looks archived; the draft is gone
    # space again: the next run loads the file, and only it
    ingest_inbox(fresh_db, inbox, archive)
    assert warehouse_state(fresh_db) == expected


def test_read_only_inbox_loads_and_is_left_untouched(inbox, expected, fresh_db, tmp_path):
    before = {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in inbox.rglob("*")}
    modes = {p: p.stat().st_mode for p in [inbox, *inbox.rglob("*")]}
    try:
        for path in modes:
            path.chmod(0o555 if path.is_dir() else 0o444)
        ingest_inbox(fresh_db, inbox, tmp_path / "archive")
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
    assert warehouse_state(fresh_db) == expected
    assert {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in inbox.rglob("*")} == before


def test_archive_folder_that_is_a_file_is_a_clear_error(inbox, fresh_db, tmp_path):
    archive = tmp_path / "archive"
    archive.write_text("not a folder")
    with pytest.raises(StorageError, match=r"cannot archive .*Nothing was loaded from this file"):
        ingest_inbox(fresh_db, inbox, archive)
    assert scalar(fresh_db, "select count(*) from raw._batches") == 0
