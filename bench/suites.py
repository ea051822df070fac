"""The weekly whole-table test suite as the bench times it: one function for the lead to point elsewhere.

The weekly run (and every full refresh) runs every data test of the project on whole tables; the daily build
tests only the rows it wrote. Until `pipeline.steps.whole_table_tests` exists (branch feat/testpolicy) the bench
runs the same thing itself: `dbt test` without the unit tests (whole tables are every test's default scope).
"""

from __future__ import annotations

from datetime import date

from pipeline.settings import Settings

FALLBACK = ["test", "--exclude", "resource_type:unit_test"]


def whole_table_tests(as_of: date, settings: Settings) -> str:
    """Run the whole-table data tests on the warehouse of `settings`; return what ran (for the report)."""
    from pipeline import steps

    suite = getattr(steps, "whole_table_tests", None)
    if suite is not None:
        suite(as_of, settings)
        return "`pipeline.steps.whole_table_tests`"
    steps.run_dbt(FALLBACK, as_of, settings)
    return "`dbt test --exclude resource_type:unit_test`"
