"""The dbt project follows its own conventions (a small dbt-project-evaluator), read from dbt's manifest."""

from __future__ import annotations

import json
import re
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
    """A primary-key test is a unique test, or the primary-key constraint PostgreSQL holds on every write (then no
    test repeats what a constraint holds: it would scan the table for nothing)."""
    tests = tests_by_model(manifest)
    for name, node in models(manifest).items():
        assert node["description"].strip(), f"{name} has no description"
        names = [t.get("test_metadata", {}).get("name") for t in tests.get(name, [])]
        held = checks_held_by_constraints(node)
        assert "unique" in names or "unique_combination" in names or held, f"{name} has no primary-key test"
        if node["fqn"][1] != "bi":  # a view holds no constraint: its key tests are its mart's
            of_model = {check(t["test_metadata"]["name"], t["test_metadata"]["kwargs"]) for t in tests.get(name, [])}
            assert not of_model & held, f"{name}: tests repeat what its constraints hold: {of_model & held}"


# a check as (test name, its arguments but the tested relation and how it is held)
IGNORED_ARGUMENTS = {"model": None, "enforced_by_unique_index": None}


def check(test: str, arguments: dict) -> tuple[str, str]:
    return test, json.dumps(arguments | IGNORED_ARGUMENTS, sort_keys=True)


def checks_held_by_constraints(node: dict) -> set[tuple[str, str]]:
    keys = [c["columns"] for c in node["constraints"] if c["type"] == "primary_key"]
    keys += [
        [name]
        for name, column in node["columns"].items()
        if any(c["type"] == "primary_key" for c in column["constraints"])
    ]
    found = {check("unique_combination", {"combination_of_columns": key}) for key in keys}
    found |= {check("unique", {"column_name": key[0]}) for key in keys if len(key) == 1}
    found |= {check("not_null", {"column_name": column}) for key in keys for column in key}
    return found | {
        check("not_null", {"column_name": name})
        for name, column in node["columns"].items()
        if any(c["type"] == "not_null" for c in column["constraints"])
    }


def test_each_bi_view_projects_one_mart_whose_tests_carry_the_views_checks(manifest):
    """What lets a build of unchanged code skip the BI views' tests (pipeline/dbt_state.py CODE_ONLY_NODES): each
    view reads one mart, and every check of the view is a check of that mart too, as a test or as a constraint
    PostgreSQL holds."""
    tests = tests_by_model(manifest)
    found = models(manifest)
    views = {name: node for name, node in found.items() if node["fqn"][1] == "bi"}
    assert len(views) > 30
    for name, node in views.items():
        (mart,) = [parent.split(".")[-1] for parent in node["depends_on"]["nodes"] if parent.startswith("model.")]
        of_view = {check(t["test_metadata"]["name"], t["test_metadata"]["kwargs"]) for t in tests.get(name, [])}
        of_mart = {check(t["test_metadata"]["name"], t["test_metadata"]["kwargs"]) for t in tests[mart]}
        assert of_view, f"{name} has no test"
        assert of_view <= of_mart | checks_held_by_constraints(found[mart]), name


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
    steps.run_dbt(["compile", "--select", "int_renewal_due_vehicles_listed"], date(2026, 11, 21), settings)
    compiled = next((target / "compiled").rglob("int_renewal_due_vehicles_listed.sql")).read_text()
    assert "date '2026-11-21'" in compiled and "2026-11-20" not in compiled


# --- dbt-project-evaluator's rules, checked on the manifest -------------------------------------------------------
# Each rule lists its exceptions with the reason; a model that grows past its exception (more joins, more children)
# fails too. Layers: staging (stg_<source>__<entity>s, incremental tables that keep the newest export; the ledger
# raw._batches is their second source, the `ledger` source, by design), intermediate (int_<entity>s_<verb>s), marts
# (fct_ / dim_ and a reports layer rpt_, read by people and BI), bi (bi_<mart>: BI's view of one mart, without
# commission or phone columns, schema bi), semantic (MetricFlow's time spine).

FANOUT_THRESHOLD = 3  # dbt-project-evaluator's models_fanout_threshold: direct children that are leaves
FANOUT_EXCEPTIONS = {
    # the one home of the renewal rule: the fact and the reports read it instead of re-deriving outcomes
    "int_renewal_opportunities_matched": 5,
    # staging tables are read by several models on purpose (README: tables, not views, for that reason)
    "stg_aftersales__repair_orders": 5,
    "stg_dms__sales_orders": 5,
    "stg_dms__staff": 5,
    # a conformed dimension: every report by customer segment joins it
    "dim_customer": 4,
}
JOINS_THRESHOLD = 7  # dbt-project-evaluator's too_many_joins_threshold
JOINS_EXCEPTIONS = {  # today's joins of the wide models (conformed report rows with one column per source), at most
    "int_staff_kpi_components_computed": 12,
    "int_renewal_opportunities_matched": 9,
    "rpt_customer_register": 8,
    "rpt_insurer_scorecard_monthly": 9,
    "rpt_plan_tracking_monthly": 9,
    "rpt_weekly_kpis": 8,
    "dim_customer": 9,
    "int_renewal_due_vehicles_listed": 9,  # the list row's 7 and 2 of its incremental branch's affected-VIN lookups
}
REJOIN_EXCEPTIONS = {
    # published marts read by a later report: folding them into it would unpublish them
    ("int_store_rate_targets_rolled_up", "rpt_weekly_kpis", "rpt_lagging_items"),
    ("int_policies_aggregated", "fct_premium_monthly", "rpt_insurer_scorecard_monthly"),
}
STAGING_PAST_INTERMEDIATE_EXCEPTIONS = {
    # (mart, staging model): the mart needs rows or columns the intermediate model does not carry
    ("fct_vehicle_sales", "stg_dms__sales_orders"),  # every order, not only deliveries
    ("dim_vehicle", "stg_dms__sales_orders"),  # every VIN seen in any order
    # per VIN: the insurers' changed policies, to read every version of them in the raw exports (a corrected VIN)
    ("dim_vehicle", "stg_insurer_picc__policies"),
    ("dim_vehicle", "stg_insurer_paic__policy_lines"),
    ("dim_vehicle", "stg_insurer_cpic__policies"),
    ("fct_claims", "stg_insurer__claims"),  # every claim, matched to a repair order or not
    ("rpt_insurer_scorecard_monthly", "stg_insurer__claims"),
    ("rpt_ownership_exceptions", "stg_dms__staff"),  # names of staff
    ("rpt_store_profit_monthly", "stg_dms__staff"),
    ("rpt_weekly_kpis", "stg_finance__targets"),  # the premium targets; the rate targets come rolled up
    ("rpt_linkage_matrix", "stg_dms__sales_orders"),  # every order is sales activity; the owner comes attributed
    # per customer: the changed sales orders and insurers' policies, to read every version of them in the raw exports
    # (the old owner of a vehicle that changed hands, the old VIN of a corrected policy)
    *(
        (mart, staging)
        for mart in ("dim_customer", "rpt_customer_register")
        for staging in (
            "stg_dms__sales_orders",
            "stg_insurer_picc__policies",
            "stg_insurer_paic__policy_lines",
            "stg_insurer_cpic__policies",
        )
    ),
}
NAMING_EXCEPTIONS = {
    "stg_dms__staff",  # staff is its own plural
}
LAYER_PREFIXES = {
    "staging": ("stg_",),
    "intermediate": ("int_",),
    "marts": ("fct_", "dim_", "rpt_"),
    "semantic": ("",),
    "bi": ("bi_",),
}
HARD_CODED = re.compile(r"\b(?:from|join)\s+\"?(?:raw|staging|intermediate|marts|ops|dq|snapshots)\"?\s*\.", re.I)


def model_parents(node: dict) -> set[str]:
    return {p.split(".")[-1] for p in node["depends_on"]["nodes"] if p.startswith("model.")}


def model_children(manifest) -> dict[str, set[str]]:
    children: dict[str, set[str]] = {name: set() for name in models(manifest)}
    for name, node in models(manifest).items():
        for parent in model_parents(node):
            children[parent].add(name)
    return children


def test_model_fanout(manifest):
    children = model_children(manifest)
    for name, direct in children.items():
        leaves = [child for child in direct if not children[child]]
        assert len(leaves) <= FANOUT_EXCEPTIONS.get(name, FANOUT_THRESHOLD), (name, sorted(leaves))


def test_too_many_joins(manifest):
    for name, node in models(manifest).items():
        joins = len(re.findall(r"\bjoin\b", node["raw_code"], re.I))
        assert joins <= JOINS_EXCEPTIONS.get(name, JOINS_THRESHOLD), (name, joins)


def test_no_rejoining_of_upstream_concepts(manifest):
    # A → B → C and A → C, where C is B's only child: B should be part of C (dbt-project-evaluator)
    found, children = models(manifest), model_children(manifest)
    for name, node in found.items():
        parents = model_parents(node)
        for middle in parents:
            if children[middle] == {name}:
                for upstream in model_parents(found[middle]) & parents:
                    assert (upstream, middle, name) in REJOIN_EXCEPTIONS, (upstream, middle, name)


def test_marts_read_the_intermediate_model_not_its_staging_again(manifest):
    # a mart reading an int_ model reads it, not also the staging model the int_ model is built on
    found = models(manifest)

    def ancestors(name: str) -> set[str]:
        seen: set[str] = set()
        todo = [name]
        while todo:
            for parent in model_parents(found[todo.pop()]) - seen:
                seen.add(parent)
                todo.append(parent)
        return seen

    for name, node in found.items():
        if node["fqn"][1] != "marts":
            continue
        parents = model_parents(node)
        for staging in {p for p in parents if p.startswith("stg_")}:
            via = [p for p in parents if p.startswith("int_") and staging in ancestors(p)]
            assert not via or (name, staging) in STAGING_PAST_INTERMEDIATE_EXCEPTIONS, (name, staging, via)
        assert not any(p.startswith("stg_") for p in parents if found[p]["fqn"][1] == "marts"), name


def test_no_hard_coded_references(manifest):
    # every relation through ref() or source(): no schema-qualified table names in a model's SQL
    for name, node in models(manifest).items():
        assert not HARD_CODED.search(node["raw_code"]), (name, HARD_CODED.search(node["raw_code"]).group(0))


def test_directories_and_naming_conventions(manifest):
    for name, node in models(manifest).items():
        layer = node["fqn"][1]
        assert layer in LAYER_PREFIXES and name.startswith(LAYER_PREFIXES[layer]), (name, layer)
        if name in NAMING_EXCEPTIONS:
            continue
        if layer == "staging":
            # stg_<source>__<entity>s in models/staging/<source system>/, reading that system's sources
            assert re.fullmatch(r"stg_[a-z0-9_]+__[a-z0-9_]+s", name), name
            systems = {
                manifest["sources"][s]["source_name"] for s in node["depends_on"]["nodes"] if s in manifest["sources"]
            }
            assert all(name.startswith(f"stg_{system}") or system == "ledger" for system in systems), (name, systems)
            assert node["fqn"][2] == name.removeprefix("stg_").split("_")[0], (name, node["fqn"])
        if layer == "bi":
            # a view of one mart, named after it
            marts = {n for n, m in models(manifest).items() if m["fqn"][1] == "marts"}
            assert name.removeprefix("bi_") in marts, name
        if layer == "intermediate":
            # int_<entity>s_<verb>s: a plural entity, then what was done to it (a past participle)
            assert re.fullmatch(r"int_[a-z0-9_]*s(_[a-z0-9]+)*_[a-z]+ed(_up)?", name), name
    # every folder has its one _<dir>__models.yml, and every model is described in its own folder's file
    for name, node in models(manifest).items():
        if node["fqn"][1] == "semantic":
            continue
        folder = Path(node["original_file_path"]).parent
        assert node["patch_path"], f"{name} has no YAML"
        yaml_file = Path(node["patch_path"].split("://")[-1])
        assert yaml_file.parent == folder and yaml_file.name == f"_{folder.name}__models.yml", (name, yaml_file)


def test_public_models_have_enforced_contracts_and_docs(manifest):
    for name, node in models(manifest).items():
        if node.get("access") == "public":
            assert node["config"]["contract"]["enforced"], name
            assert node["description"].strip() and all(c.get("description") for c in node["columns"].values()), name


def test_the_evaluator_rules_catch_violations(manifest):
    # each rule fails on a manifest changed to break it (the rules are not only passing on today's project)
    import copy

    def changed(model: str, **fields) -> dict:
        broken = copy.deepcopy(manifest)
        node = next(n for n in broken["nodes"].values() if n["resource_type"] == "model" and n["name"] == model)
        node.update(fields)
        return broken

    sql = models(manifest)["rpt_renewal_rate_monthly"]["raw_code"]
    with pytest.raises(AssertionError, match=r"join marts\."):
        test_no_hard_coded_references(changed("rpt_renewal_rate_monthly", raw_code=sql + "\njoin marts.dim_store"))
    with pytest.raises(AssertionError, match="rpt_renewal_rate_monthly"):
        test_too_many_joins(changed("rpt_renewal_rate_monthly", raw_code=sql + " join" * 8))
    with pytest.raises(AssertionError, match="int_policies_ranked_by"):
        test_directories_and_naming_conventions(changed("int_policies_aggregated", name="int_policies_ranked_by"))
    broken = copy.deepcopy(manifest)
    node = next(n for n in broken["nodes"].values() if n["resource_type"] == "model" and n["name"] == "fct_claims")
    node["config"]["contract"]["enforced"] = False
    node["access"] = "public"
    with pytest.raises(AssertionError, match="fct_claims"):
        test_public_models_have_enforced_contracts_and_docs(broken)
