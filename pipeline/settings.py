"""Every `DW_*` setting in one place; dbt's profile, Great Expectations and Airflow read these."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PG_PORT = 54329
DATABASE_NAME = "dealer_dw"


class SettingsError(ValueError):
    """A DW_* variable has a value we cannot use."""


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None
    pg_port: int
    inbox: Path | None
    archive: Path
    reports: Path
    as_of: date | None
    airflow_database_url: str | None = None

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"


def parse_as_of(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise SettingsError(f"DW_AS_OF must be a date as YYYY-MM-DD, got {value!r}") from exc


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    home = Path(env.get("DW_HOME") or PROJECT_DIR / ".dw").resolve()
    port_text = env.get("DW_PG_PORT") or str(DEFAULT_PG_PORT)
    if not port_text.isdigit():
        raise SettingsError(f"DW_PG_PORT must be a port number, got {port_text!r}")
    inbox = env.get("DW_INBOX")
    return Settings(
        home=home,
        database_url=env.get("DW_DATABASE_URL") or None,
        pg_port=int(port_text),
        inbox=Path(inbox).resolve() if inbox else None,
        archive=Path(env.get("DW_ARCHIVE") or home / "archive").resolve(),
        reports=Path(env.get("DW_REPORTS") or home / "reports").resolve(),
        as_of=parse_as_of(env.get("DW_AS_OF")),
        airflow_database_url=env.get("DW_AIRFLOW_DATABASE_URL") or None,
    )
