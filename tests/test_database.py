"""The warehouse database: the embedded server is reused, and every way it can be unavailable says why."""

from __future__ import annotations

import socket

import psycopg
import pytest

from pipeline.database import DatabaseUnavailable, ensure_database, redact
from pipeline.settings import SettingsError, load_settings


def test_embedded_server_is_reused(warehouse_url):
    settings = load_settings()
    assert ensure_database(settings) == warehouse_url
    with psycopg.connect(warehouse_url) as conn:
        schemas = {r[0] for r in conn.execute("select schema_name from information_schema.schemata")}
        roles = {r[0] for r in conn.execute("select rolname from pg_roles")}
    assert {"raw", "staging", "intermediate", "marts", "dq", "ops"} <= schemas
    assert {"bi_reader", "finance", "insurance_staff", "dw_loader", "dw_transformer"} <= roles


def test_server_already_running_on_another_port_is_a_clear_error(warehouse_url):
    settings = load_settings()
    other = load_settings({"DW_HOME": str(settings.home), "DW_PG_PORT": str(settings.pg_port + 1)})
    message = f"already running on port {settings.pg_port}, not on DW_PG_PORT={settings.pg_port + 1}"
    with pytest.raises(DatabaseUnavailable, match=message):
        ensure_database(other)
    assert ensure_database(settings) == warehouse_url  # the running server is left alone


def test_port_taken_by_another_program_is_a_clear_error(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        settings = load_settings({"DW_HOME": str(tmp_path / "home"), "DW_PG_PORT": str(port)})
        with pytest.raises(DatabaseUnavailable, match=f"port {port} on 127.0.0.1 is taken by another program"):
            ensure_database(settings)


def test_unreachable_database_url_is_a_clear_error():
    settings = load_settings({"DW_DATABASE_URL": "postgresql://dw:secret@127.0.0.1:1/dealer_dw"})
    with pytest.raises(DatabaseUnavailable, match="cannot connect to DW_DATABASE_URL") as error:
        ensure_database(settings)
    assert "secret" not in str(error.value)


def test_settings_reject_a_malformed_as_of_date():
    with pytest.raises(SettingsError, match="DW_AS_OF must be a date as YYYY-MM-DD, got '2026/11/20'"):
        load_settings({"DW_AS_OF": "2026/11/20"})


def test_redact_hides_the_password():
    assert redact("postgresql://dw:s3cret@db:5432/x") == "postgresql://dw:***@db:5432/x"
