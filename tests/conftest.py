"""Test fixtures: a real embedded PostgreSQL of the tests' own (own DW_HOME, own port), real databases.

The environment is set before any project module reads its settings, so the tests never touch the
developer's warehouse in .dw/.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
import pytest

TEST_HOME = Path(tempfile.mkdtemp(prefix="dw-tests-"))
os.environ.update({"DW_HOME": str(TEST_HOME), "DW_PG_PORT": os.environ.get("DW_TEST_PG_PORT", "54339")})
for variable in ("DW_DATABASE_URL", "DW_INBOX", "DW_AS_OF", "DW_ARCHIVE", "DW_REPORTS"):
    os.environ.pop(variable, None)

from pipeline.airflow_runner import airflow_environment  # noqa: E402
from pipeline.database import bootstrap_schema, ensure_database, recreate_database, stop_embedded  # noqa: E402
from pipeline.settings import load_settings  # noqa: E402

# Airflow reads its settings once, when a test first imports it (the mail tests do, through the SMTP hook): every test
# sees the settings `make run` uses from the start, whichever test comes first (airflow_ready migrates the database)
os.environ.update(airflow_environment(load_settings()))

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def warehouse_url() -> str:
    url = ensure_database()
    bootstrap_schema(url)
    yield url
    if "airflow.settings" in sys.modules:  # close Airflow's pooled connections before the server stops
        sys.modules["airflow.settings"].dispose_orm()
    stop_embedded(load_settings())
    shutil.rmtree(TEST_HOME, ignore_errors=True)


@pytest.fixture
def fresh_db(warehouse_url: str) -> str:
    """A new, empty warehouse database on the test server, with schemas, roles and ledger tables."""
    url = recreate_database(warehouse_url, f"test_{os.getpid()}_{next(_database_numbers)}")
    bootstrap_schema(url)
    return url


@dataclass
class ScenarioWarehouse:
    url: str
    settings: object  # pipeline.settings.Settings of this copy (its own DW_HOME)
    ingested: dict  # what steps.ingest reported when the scenario was loaded
    home: Path


@pytest.fixture(scope="session")
def scenario_warehouse(warehouse_url, tmp_path_factory):
    """`make(name, build_inbox, as_of, after_ingest=None)`: the warehouse of a hand-made scenario, through the real
    ingestion and dbt build: `build_inbox(folder)` writes the exports, `after_ingest(url, settings)` runs between
    ingestion and dbt (a gate). Each scenario is built once per session; every caller gets its own copy of the
    database (CREATE DATABASE … TEMPLATE) and of its DW_HOME, so modules that share a scenario pay for one build
    and may still change their copy."""
    from pipeline import steps

    built: dict[tuple, tuple[str, Path, dict]] = {}

    def make(
        name: str, build_inbox: Callable[[Path], None], as_of: date, after_ingest: Callable | None = None
    ) -> ScenarioWarehouse:
        key = (build_inbox.__module__, build_inbox.__qualname__, as_of, after_ingest)
        if key not in built:
            template = f"scenario_template_{len(built) + 1}"
            home = tmp_path_factory.mktemp(template)
            url = recreate_database(warehouse_url, template)
            build_inbox(home / "inbox")
            settings = _settings_of(url, home)
            ingested = steps.ingest(template, as_of, settings)
            if after_ingest:
                after_ingest(url, settings)
            steps.dbt_build(as_of, settings)
            built[key] = (template, home, ingested)
        template, template_home, ingested = built[key]
        home = tmp_path_factory.mktemp(name)
        shutil.copytree(template_home, home, dirs_exist_ok=True, symlinks=True)
        url = recreate_database(warehouse_url, name, template=template)
        return ScenarioWarehouse(url, _settings_of(url, home), ingested, home)

    return make


def _settings_of(url: str, home: Path):
    return load_settings({"DW_DATABASE_URL": url, "DW_HOME": str(home), "DW_INBOX": str(home / "inbox")})


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def scalar(url: str, sql: str, params: tuple = ()):
    return query(url, sql, params)[0][0]


@pytest.fixture(scope="session")
def airflow_ready(warehouse_url):
    """Airflow configured as `make run` configures it (project-local home, metadata on the test server)."""
    from pipeline.airflow_runner import airflow_environment, migrate_airflow

    env = airflow_environment(load_settings())
    os.environ.update(env)
    migrate_airflow(env)
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp_inbox(monkeypatch):
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that Airflow's connection dw_smtp points at."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    connection = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": controller.port,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "dw@dealer.test", "retry_limit": 0},
    }
    monkeypatch.setenv("AIRFLOW_CONN_DW_SMTP", json.dumps(connection))
    yield inbox
    controller.stop()


def attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}
