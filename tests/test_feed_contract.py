"""The feed contract is declared once, in `ingestion/feeds.py`; dbt's sources and staging models must follow it.

A column added to a feed spec without its source entry and staging model, a renamed column, or a natural key that
changes in one place only fails here. The check is a function so that it can be shown to catch each kind of drift
(mutation tests below), not only to pass on today's files.
"""

from __future__ import annotations

import copy
import dataclasses
import re

from ingestion.feeds import FEEDS, Column, FeedSpec
from tests.test_dbt_project import manifest  # noqa: F401  (the module fixture: dbt's parsed manifest)


def staging_models_by_feed(parsed: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for node in parsed["nodes"].values():
        if node["resource_type"] == "model":
            for parent in node["depends_on"]["nodes"]:
                if parent.startswith("source."):
                    found.setdefault(parent.split(".")[-1], []).append(node)
    return found


def contract_drift(parsed: dict, feeds: dict[str, FeedSpec]) -> list[str]:
    """Every difference between the feed specs and dbt's sources and staging models, one line each."""
    problems: list[str] = []
    sources = {
        node["name"]: node
        for node in parsed["sources"].values()
        if node["schema"] == "raw" and node["source_name"] != "ledger"  # the ledger is ingestion's own table
    }
    staging = staging_models_by_feed(parsed)
    for feed_id, spec in feeds.items():
        spec_columns = [column.name for column in spec.columns]
        source = sources.get(feed_id)
        if source is None:
            problems.append(f"{feed_id}: no dbt source for the feed")
            continue
        if list(source["columns"]) != spec_columns:
            problems.append(f"{feed_id}: source columns {list(source['columns'])} != feed spec {spec_columns}")
        models = staging.get(feed_id, [])
        if not models:
            problems.append(f"{feed_id}: no staging model reads the source")
        # a feed may have several staging models (e.g. a later version's optional columns apart): together they
        # select every column of the spec, each documents the columns it selects, each keeps the natural key
        unselected = set(spec_columns)
        for model in models:
            name = model["name"]
            selected = [c for c in spec_columns if re.search(rf"\b{re.escape(c)}\b", model["raw_code"])]
            unselected -= set(selected)
            undocumented = [c for c in selected if c not in model["columns"]]
            if undocumented:
                problems.append(f"{name}: selects feed columns its YAML does not document: {undocumented}")
            key = model["config"].get("unique_key")
            key = [key] if isinstance(key, str) else list(key or [])
            if key != list(spec.key):
                problems.append(f"{name}: unique_key {key} != the feed's natural key {list(spec.key)}")
        if models and unselected:
            problems.append(
                f"{feed_id}: feed columns no staging model selects: {[c for c in spec_columns if c in unselected]}"
            )
    for feed_id in sources.keys() - feeds.keys():
        problems.append(f"{feed_id}: a raw source with no feed spec")
    return problems


def test_sources_and_staging_follow_the_feed_specs(manifest):  # noqa: F811
    assert contract_drift(manifest, FEEDS) == []


def with_spec(feed_id: str, **changes) -> dict[str, FeedSpec]:
    feeds = dict(FEEDS)
    feeds[feed_id] = dataclasses.replace(FEEDS[feed_id], **changes)
    return feeds


def test_a_column_added_to_a_spec_only_is_drift(manifest):  # noqa: F811
    spec = FEEDS["dms_followups"]
    feeds = with_spec("dms_followups", columns=(*spec.columns, Column("回访渠道", "callback_channel")))
    problems = contract_drift(manifest, feeds)
    assert any("dms_followups: source columns" in p for p in problems), problems
    assert "dms_followups: feed columns no staging model selects: ['callback_channel']" in problems


def test_a_key_changed_in_one_place_only_is_drift(manifest):  # noqa: F811
    feeds = with_spec("dms_leads", key=("lead_no", "vin"))
    assert contract_drift(manifest, feeds) == [
        "stg_dms__leads: unique_key ['lead_no'] != the feed's natural key ['lead_no', 'vin']"
    ]
    # ... and the other way round: the staging model's key changed, the spec not
    changed = copy.deepcopy(manifest)
    model = next(n for n in changed["nodes"].values() if n["name"] == "stg_dms__surveys")
    model["config"]["unique_key"] = ["survey_no", "store_code"]
    assert contract_drift(changed, FEEDS) == [
        "stg_dms__surveys: unique_key ['survey_no', 'store_code'] != the feed's natural key ['survey_no']"
    ]


def test_a_staging_model_that_drops_a_column_is_drift(manifest):  # noqa: F811
    changed = copy.deepcopy(manifest)
    model = next(n for n in changed["nodes"].values() if n["name"] == "stg_dms__followups")
    model["raw_code"] = model["raw_code"].replace("quoted_amount,", "")
    del model["columns"]["quoted_amount"]
    assert contract_drift(changed, FEEDS) == ["dms_followups: feed columns no staging model selects: ['quoted_amount']"]
    # ... or selects one its YAML does not document
    changed = copy.deepcopy(manifest)
    model = next(n for n in changed["nodes"].values() if n["name"] == "stg_dms__followups")
    del model["columns"]["quoted_amount"]
    assert contract_drift(changed, FEEDS) == [
        "stg_dms__followups: selects feed columns its YAML does not document: ['quoted_amount']"
    ]


def published_drift(parsed: dict) -> list[str]:
    """The published interface is declared once (access: public, meta.published grain and key, enforced contract)
    and read by pipeline.published; the primary_key constraint that holds the key must say the same (no test repeats
    it: tests/test_dbt_project.py)."""
    problems: list[str] = []
    for node in parsed["nodes"].values():
        if node["resource_type"] != "model":
            continue
        name, declared = node["name"], node["config"].get("meta", {}).get("published")
        if node.get("access") != "public":
            if declared:
                problems.append(f"{name}: meta.published on a model that is not access: public")
            continue
        if not declared or not declared.get("grain") or not declared.get("primary_key"):
            problems.append(f"{name}: public without meta.published grain and primary_key")
            continue
        key = tuple(declared["primary_key"])
        if not node["config"].get("contract", {}).get("enforced"):
            problems.append(f"{name}: public without an enforced contract")
        missing = [c for c in key if c not in node["columns"]]
        if missing:
            problems.append(f"{name}: published key columns not in the contract: {missing}")
        primary_keys = [c for c in node.get("constraints", []) if c["type"] == "primary_key"]
        if not primary_keys:
            problems.append(f"{name}: public without a primary_key constraint (PostgreSQL must refuse a duplicate key)")
        for constraint in primary_keys:
            if tuple(constraint["columns"]) != key:
                problems.append(f"{name}: primary_key constraint {constraint['columns']} != published key {list(key)}")
    return problems


def test_the_published_interface_is_declared_once(manifest):  # noqa: F811
    from pipeline.published import published_models

    assert published_drift(manifest) == []
    published = published_models(manifest)
    assert len(published) == 19, sorted(published)  # the 11 of the published interface and the 8 published next
    assert published["rpt_renewal_rate_monthly"].primary_key == ("store_code", "due_month")
    assert all(model.key_is_constraint for model in published.values())


def test_a_published_key_changed_in_one_place_only_is_drift(manifest):  # noqa: F811
    # the declared key changed, the primary-key constraint not
    changed = copy.deepcopy(manifest)
    model = next(n for n in changed["nodes"].values() if n["name"] == "rpt_linkage_monthly")
    model["config"]["meta"]["published"]["primary_key"] = ["store_code", "month"]
    assert published_drift(changed) == [
        "rpt_linkage_monthly: primary_key constraint ['store_code', 'month', 'source_department'] "
        "!= published key ['store_code', 'month']",
    ]
    # ... or the other way round: the table's primary key constraint moved
    changed = copy.deepcopy(manifest)
    model = next(n for n in changed["nodes"].values() if n["name"] == "fct_policy_transactions")
    model["constraints"][0]["columns"] = ["policy_no", "txn_no", "coverage_code"]
    assert published_drift(changed) == [
        "fct_policy_transactions: primary_key constraint ['policy_no', 'txn_no', 'coverage_code'] "
        "!= published key ['insurer_code', 'policy_no', 'txn_no', 'coverage_code']"
    ]
    # ... or a published model lost its primary_key constraint
    changed = copy.deepcopy(manifest)
    model = next(n for n in changed["nodes"].values() if n["name"] == "rpt_weekly_kpis")
    model["constraints"] = []
    assert published_drift(changed) == [
        "rpt_weekly_kpis: public without a primary_key constraint (PostgreSQL must refuse a duplicate key)"
    ]
