"""The published interface, read from dbt's manifest: its one home is the marts YAML.

A published model is a model with `access: public` in its config; its grain and key are `meta.published` beside it,
and its contract is enforced there. The run summary (pipeline.steps), the GX key suites (expectations.suites) and the
tests read the interface here instead of keeping lists of their own; tests/test_feed_contract.py fails when the
declared key and the model's primary-key test (or constraint) disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.settings import Settings, load_settings


class PublishedInterfaceError(RuntimeError):
    """A public model without its grain or key, or no manifest to read."""


@dataclass(frozen=True)
class PublishedModel:
    name: str
    grain: str
    primary_key: tuple[str, ...]
    contract_enforced: bool
    key_is_constraint: bool  # PostgreSQL holds the key (a primary_key constraint in the contract)


def manifest_path(settings: Settings) -> Path:
    """Where `pipeline.steps.run_dbt` writes dbt's manifest for this warehouse home."""
    return settings.home / "dbt" / "target" / "manifest.json"


def read_manifest(settings: Settings | None = None, as_of: date | None = None) -> dict:
    """dbt's manifest of this home; parsed first when no dbt command has written one yet."""
    settings = settings or load_settings()
    path = manifest_path(settings)
    if not path.exists():
        from pipeline.steps import run_dbt

        run_dbt(["parse"], as_of or settings.as_of or date.today(), settings)
    return json.loads(path.read_text())


def published_models(manifest: dict) -> dict[str, PublishedModel]:
    """Every model with `access: public`, by name (sorted)."""
    found = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node.get("access") != "public":
            continue
        declared = node["config"].get("meta", {}).get("published") or {}
        if not declared.get("grain") or not declared.get("primary_key"):
            raise PublishedInterfaceError(f"{node['name']} is public but declares no meta.published grain and key")
        key = tuple(declared["primary_key"])
        constraints = [*node.get("constraints", [])] + [
            c for column in node["columns"].values() for c in column.get("constraints", [])
        ]
        found[node["name"]] = PublishedModel(
            name=node["name"],
            grain=declared["grain"],
            primary_key=key,
            contract_enforced=bool(node["config"].get("contract", {}).get("enforced")),
            key_is_constraint=any(
                c["type"] == "primary_key" and tuple(c.get("columns") or ()) == key for c in constraints
            ),
        )
    return dict(sorted(found.items()))


def published_marts(settings: Settings | None = None) -> tuple[str, ...]:
    """The published models' names, from this home's manifest."""
    return tuple(published_models(read_manifest(settings)))
