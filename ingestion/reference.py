"""Reference data the loader checks rows against before dbt reads them, read from the dbt seeds (one home).

- Dates of business events outside the plausible years (seed insurance_parameters: `plausible_first_year`,
  `plausible_last_year`, the years the calendar dim_date spans) are quarantined: a 1900 or 2199 date is a typing
  error that would fail the marts' relationship to dim_date after half of them were written.
- Store codes that are not in seed stores (every `store_code` column, and `recommended_store_code`) are
  quarantined: they would make phantom rows in dim_store.
Dates of a person's or a record's own past (birth, hiring, leaving, the customer file's creation) may precede
the calendar and are not checked.
"""

from __future__ import annotations

import csv
from datetime import date
from functools import cache
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds"
UNBOUNDED_DATES = frozenset({"birth_date", "hired_date", "left_date", "created_date"})
STORE_COLUMNS = frozenset({"store_code", "recommended_store_code"})


def _rows(seed: str) -> list[dict[str, str]]:
    with (SEEDS / f"{seed}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@cache
def plausible_dates() -> tuple[date, date]:
    """The first and last plausible day of a business event (seed insurance_parameters)."""
    values = {row["parameter"]: row["value"] for row in _rows("insurance_parameters")}
    return date(int(values["plausible_first_year"]), 1, 1), date(int(values["plausible_last_year"]), 12, 31)


@cache
def store_codes() -> tuple[str, ...]:
    """The group's store codes (seed stores)."""
    return tuple(row["store_code"] for row in _rows("stores"))
