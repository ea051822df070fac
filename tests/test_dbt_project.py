"""The dbt project follows its own conventions (a small dbt-project-evaluator), read from dbt's manifest."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pipeline import steps
from pipeline.published import published_models
from pipeline.settings import load_settings


@pytest.fixture(scope="module")
def manifest(warehouse_url, tmp_path_factory):
    home = tmp_path_factory.mktemp("dbt-parse")
    settings = load_settings({"DW_DATABASE_URL": warehouse_url, "DW_HOME": str(home)})
    steps.run_dbt(["parse"], date(2026, 11, 20), settings)
    return json.loads((home / "dbt" / "target" / "manifest.json").read_text())


def models(manifest):
    return {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}


def tests_by_model(manifest):
    found: dict[str, list[dict]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test":
            for parent in node["depends_on"]["nodes"]:
                found.setdefault(parent.split(".")[-1], []).append(node)
    return found


def test_every_model_is_documented_and_has_a_primary_key_test(manifest):
    tests = tests_by_model(manifest)
    for name, node in models(manifest).items():
        assert node["description"].strip(), f"{name} has no description"
        names = [t.get("test_metadata", {}).get("name") for t in tests.get(name, [])]
        assert "unique" in names or "unique_combination" in names, f"{name} has no primary-key test"


def test_only_staging_reads_sources_and_staging_is_named_by_source(manifest):
    for name, node in models(manifest).items():
        reads_source = any(d.startswith("source.") for d in node["depends_on"]["nodes"])
        assert reads_source == name.startswith("stg_"), name
        if name.startswith("stg_"):
            assert "__" in name and node["fqn"][1] == "staging", name


def test_published_models_have_enforced_contracts(manifest):
    found = models(manifest)
    for name in published_models(manifest):
        assert found[name]["config"]["contract"]["enforced"], name
        assert all(c.get("data_type") for c in found[name]["columns"].values()), name


def test_facts_have_relationships_to_dimensions(manifest):
    tests = tests_by_model(manifest)
    for name in ("fct_policy_transactions", "fct_renewal_opportunities", "fct_staff_kpi_monthly"):
        related = {
            t["test_metadata"]["kwargs"].get("to")
            for t in tests[name]
            if t.get("test_metadata", {}).get("name") == "relationships"
        }
        assert any("dim_" in (r or "") for r in related), name


def test_sources_have_freshness(manifest):
    for source in manifest["sources"].values():
        freshness = source["freshness"] or {}
        assert freshness.get("warn_after", {}).get("count"), source["name"]
        assert source["loaded_at_field"] in ("_loaded_at", "loaded_at"), source["name"]


def test_metric_formulas_are_in_the_docs(manifest):
    found = models(manifest)
    assert "renewed_count / due_count" in found["rpt_renewal_rate_monthly"]["description"]
    assert "0.40 × min(policies/policy target, 1.5)" in found["fct_staff_kpi_monthly"]["description"]
    assert "premium / 1.06" in found["fct_policy_transactions"]["description"]


def test_models_are_sqlfluff_clean(warehouse_url):
    """Every model lints clean with sqlfluff (postgres dialect, dbt templater; rules in pyproject.toml), and
    none is skipped: a model the templater cannot compile is a warning to sqlfluff, a failure here."""
    model_files = sorted(
        str(p.relative_to(steps.PROJECT_DIR)) for p in (steps.DBT_PROJECT_DIR / "models").rglob("*.sql")
    )
    sqlfluff = Path(sys.executable).with_name("sqlfluff")
    completed = subprocess.run(
        [str(sqlfluff), "lint", "dbt_project/models", "--format", "json", "--processes", "2"],
        env=steps.dbt_env(warehouse_url),
        cwd=steps.PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    linted = json.loads(completed.stdout or "[]")
    assert sorted(f["filepath"] for f in linted) == model_files, completed.stderr[-2000:]
    findings = [
        f"{f['filepath']}:{v['start_line_no']} {v['code']} {v['description']}" for f in linted for v in f["violations"]
    ]
    assert not findings, "\n".join(findings)


def test_a_new_as_of_date_reaches_the_sql_without_reparsing_the_project(warehouse_url, tmp_path):
    """The daily date is an environment variable read at execution, not a --vars value in the parse checksum:
    the next day's parse re-reads no file (with --vars: every one of the project's files), and the SQL has that day."""
    settings = load_settings({"DW_DATABASE_URL": warehouse_url, "DW_HOME": str(tmp_path)})
    target = tmp_path / "dbt" / "target"
    steps.run_dbt(["parse"], date(2026, 11, 20), settings)
    assert json.loads((target / "perf_info.json").read_text())["parsed_path_count"] > 200  # the first parse: all
    steps.run_dbt(["parse"], date(2026, 11, 21), settings)
    perf = json.loads((target / "perf_info.json").read_text())
    assert perf["is_partial_parse_enabled"] and perf["parsed_path_count"] == 0, perf
    steps.run_dbt(["compile", "--select", "int_renewal_due_list"], date(2026, 11, 21), settings)
    compiled = next((target / "compiled").rglob("int_renewal_due_list.sql")).read_text()
    assert "date '2026-11-21'" in compiled and "2026-11-20" not in compiled
