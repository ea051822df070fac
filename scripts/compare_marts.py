"""Behaviour check for refactorings: snapshot every table of schemas `intermediate` and `marts`, rebuild, compare
(EXCEPT ALL both ways, without `ledger_seq`; bench/equality.py, which the bench's daily build runs too).

DW_PG_PORT=... .venv/bin/python scripts/compare_marts.py snapshot   # before: copies the tables into before_rebuild_*
DW_PG_PORT=... .venv/bin/python scripts/compare_marts.py compare    # after: every table equal, or those that differ
"""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import equality
from pipeline.database import ensure_database
from pipeline.settings import load_settings

SCHEMAS = ("intermediate", "marts")


def main() -> int:
    with psycopg.connect(ensure_database(load_settings()), autocommit=True) as conn:
        if sys.argv[1:] == ["snapshot"]:
            print(f"{equality.snapshot(conn, SCHEMAS)} tables copied")
            return 0
        differing = equality.compare(conn, SCHEMAS)
        for name, detail in differing.items():
            print(f"DIFFERS  {name}: {detail}")
        print(f"{len(differing)} tables differ")
        return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
