"""The semantic layer: MetricFlow answers the project's metrics on the warehouse, with the project's own settings.

    python -m pipeline.metrics query --metrics renewal_rate --group-by store__store_code,metric_time__month
    python -m pipeline.metrics list              # the metrics and their dimensions
    python -m pipeline.metrics validate          # every metric compiles and runs on the warehouse

The metrics are defined once, in dbt_project/models/semantic/_semantic__models.yml. dbt parses the project into the
pipeline's target folder ($DW_HOME/dbt/target/semantic_manifest.json) and MetricFlow reads that manifest and queries
the warehouse through dbt's own adapter with the project's profile: the DW_PG_* settings of pipeline.steps.dbt_env and
the run's as-of date as DW_DBT_AS_OF (DW_AS_OF, else today), exactly as the pipeline's dbt runs get them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pipeline.settings import Settings, load_settings
from pipeline.steps import DBT_PROJECT_DIR, dbt_env, prepare_database, run_dbt


class MetricsError(RuntimeError):
    """The semantic layer cannot answer: an unknown metric or dimension, or an invalid definition."""


@dataclass(frozen=True)
class MetricRows:
    """A MetricFlow answer: column names and rows (dates as date, amounts and rates as Decimal or float)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    sql: str

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def semantic_manifest_path(settings: Settings) -> Path:
    return settings.home / "dbt" / "target" / "semantic_manifest.json"


def manifest_is_current(manifest_path: Path, database: str) -> bool:
    """True when dbt wrote the semantic manifest after every change to the project's files, for this database (its
    relations name the database), so no parse is needed."""
    if not manifest_path.exists():
        return False
    models = json.loads(manifest_path.read_text()).get("semantic_models", [])
    if any(model["node_relation"]["database"] != database for model in models):
        return False
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "snapshots"):
        sources.extend(path for path in (DBT_PROJECT_DIR / folder).rglob("*") if path.is_file())
    return manifest_path.stat().st_mtime > max(path.stat().st_mtime for path in sources)


class SemanticLayer:
    """MetricFlow's engine on the warehouse of `settings`, with the dbt project's semantic manifest (re-parsed when
    stale)."""

    def __init__(self, settings: Settings | None = None, as_of: date | None = None) -> None:
        from dbt.adapters.factory import get_adapter_by_type
        from dbt_metricflow.cli.dbt_connectors.adapter_backed_client import AdapterBackedSqlClient
        from dbt_metricflow.cli.dbt_connectors.dbt_config_accessor import dbtProjectMetadata
        from metricflow.engine.metricflow_engine import MetricFlowEngine
        from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
        from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

        self.settings = settings or load_settings()
        self.as_of = as_of or self.settings.as_of or date.today()  # a query's "today", as `pipeline dbt` reads it
        url = prepare_database(self.settings)
        # dbt's profile reads DW_PG_* (and models DW_DBT_AS_OF) from this process's environment when it loads
        os.environ.update(
            dbt_env(url) | {"DW_DBT_AS_OF": self.as_of.isoformat(), "DBT_LOG_PATH": str(self.settings.home / "logs")}
        )
        manifest_path = semantic_manifest_path(self.settings)
        if not manifest_is_current(manifest_path, os.environ["DW_PG_DBNAME"]):
            run_dbt(["parse"], self.as_of, self.settings)
        manifest_text = manifest_path.read_text()
        self.manifest = parse_manifest_from_dbt_generated_manifest(manifest_json_string=manifest_text)
        # registers the postgres adapter with the project's profile (dbt debug), as the `mf` command does
        metadata = dbtProjectMetadata.load_from_paths(profiles_path=DBT_PROJECT_DIR, project_path=DBT_PROJECT_DIR)
        self.sql_client = AdapterBackedSqlClient(get_adapter_by_type(metadata.profile.credentials.type))
        self.engine = MetricFlowEngine(
            semantic_manifest_lookup=SemanticManifestLookup(self.manifest), sql_client=self.sql_client
        )

    def _request(self, metrics: Sequence[str], group_by: Sequence[str], where: Sequence[str], order: Sequence[str]):
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        return MetricFlowQueryRequest.create(
            metric_names=list(metrics),
            group_by_names=list(group_by),
            where_constraints=list(where) or None,
            order_by_names=list(order) or None,
        )

    def query(
        self,
        metrics: Sequence[str],
        group_by: Sequence[str] = (),
        where: Sequence[str] = (),
        order: Sequence[str] = (),
    ) -> MetricRows:
        """The metrics by the given dimensions, e.g. `query(["renewal_rate"], ["store__store_code"])`."""
        try:
            result = self.engine.query(self._request(metrics, group_by, where, order))
        except Exception as exc:  # MetricFlow's own errors name the unknown metric or dimension and suggest others
            raise MetricsError(f"MetricFlow cannot answer {list(metrics)} by {list(group_by)}: {exc}") from exc
        table = result.result_df
        assert table is not None
        return MetricRows(list(table.column_names), [tuple(row) for row in table.rows], result.sql)

    def explain(self, metrics: Sequence[str], group_by: Sequence[str] = (), where: Sequence[str] = ()) -> str:
        """The SQL MetricFlow would run."""
        return self.engine.explain(self._request(metrics, group_by, where, ())).sql_statement.without_descriptions.sql

    def metric_names(self) -> list[str]:
        return sorted(metric.name for metric in self.manifest.metrics)

    def list_metrics(self) -> list[tuple[str, str, list[str]]]:
        """Each metric with its description and the dimensions it can be grouped by."""
        return [
            (
                metric.name,
                metric.description or "",
                sorted({dimension.granularity_free_dunder_name for dimension in metric.dimensions}),
            )
            for metric in sorted(self.engine.list_metrics(), key=lambda m: m.name)
        ]

    def validate(self, warehouse: bool = True) -> list[str]:
        """Blocking issues: MetricFlow's semantic checks, then every model, dimension, entity and metric run on
        the warehouse (as `mf validate-configs`). Empty when every metric compiles and answers."""
        from metricflow.validation.data_warehouse_model_validator import DataWarehouseModelValidator
        from metricflow_semantic_interfaces.validations.semantic_manifest_validator import SemanticManifestValidator
        from metricflow_semantic_interfaces.validations.validator_helpers import SemanticManifestValidationResults

        results = [SemanticManifestValidator().validate_semantic_manifest(self.manifest)]
        if warehouse and not results[0].has_blocking_issues:
            validator = DataWarehouseModelValidator(sql_client=self.sql_client)
            for check in (
                validator.validate_semantic_models,
                validator.validate_dimensions,
                validator.validate_entities,
                validator.validate_simple_metrics,
                validator.validate_metrics,
            ):
                results.append(check(self.manifest))
        merged = SemanticManifestValidationResults.merge(results)
        return [issue.as_readable_str() for issue in merged.errors]


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _cell(value: Any) -> str:
    """Periods as dates, rates and amounts to 4 decimals (the marts keep rates as numeric(9, 4))."""
    if value is None:
        return ""
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date().isoformat()
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _print_rows(answer: MetricRows, csv_path: Path | None) -> None:
    if csv_path:
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(answer.columns)
            writer.writerows(answer.rows)
        print(f"{len(answer.rows)} rows written to {csv_path}")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for column in answer.columns:
        table.add_column(column)
    for row in answer.rows:
        table.add_row(*(_cell(value) for value in row))
    Console(width=max(Console().width, 120)).print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.metrics", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    query = commands.add_parser("query", help="answer metrics by dimensions")
    query.add_argument("--metrics", required=True, help="comma-separated, e.g. renewal_rate,due_count")
    query.add_argument("--group-by", default="", help="e.g. store__store_code,metric_time__month")
    query.add_argument(
        "--where", action="append", default=[], help="e.g. \"{{ Dimension('store__store_code') }} = 'S01'\""
    )
    query.add_argument("--order", default="", help="e.g. metric_time__month,-renewal_rate")
    query.add_argument("--csv", type=Path, help="write the rows to this CSV file instead of printing them")
    query.add_argument("--explain", action="store_true", help="print the SQL instead of running it")
    commands.add_parser("list", help="the metrics, their descriptions and dimensions")
    validate = commands.add_parser("validate", help="check that every metric compiles and runs on the warehouse")
    validate.add_argument("--skip-dw", action="store_true", help="semantic checks only, no warehouse queries")
    args = parser.parse_args(argv)

    layer = SemanticLayer()
    if args.command == "query":
        metrics, group_by = _names(args.metrics), _names(args.group_by)
        try:
            if args.explain:
                print(layer.explain(metrics, group_by, args.where))
            else:
                order = _names(args.order) or group_by  # rows in the order of their dimensions unless told
                _print_rows(layer.query(metrics, group_by, args.where, order), args.csv)
        except MetricsError as exc:
            print(exc, file=sys.stderr)
            return 2
    elif args.command == "list":
        for name, description, dimensions in layer.list_metrics():
            print(f"{name}: {description}".rstrip(": "))
            print(f"    by {', '.join(dimensions)}")
    else:
        issues = layer.validate(warehouse=not args.skip_dw)
        for issue in issues:
            print(issue, file=sys.stderr)
        print(f"{len(layer.metric_names())} metrics: {'OK' if not issues else f'{len(issues)} blocking issue(s)'}")
        return 1 if issues else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
