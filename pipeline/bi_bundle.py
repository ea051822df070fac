"""Superset's import bundle for the dashboards kept as code in bi/dashboards/*.yml, with dataset metrics generated
from the semantic layer.

A dashboard file names its datasets (SQL over the marts, `{schema}` being DW_BI_SCHEMA), its charts by rows and its
filters. Every dataset names the dbt semantic model it reads: each simple metric of that model becomes
`<agg>(<measure expr>)` and each ratio metric `<numerator> / nullif(<denominator>, 0)` as a Superset metric, read from
dbt's semantic manifest ($DW_HOME/dbt/target/semantic_manifest.json), so a metric is defined once, in
dbt_project/models/semantic/_semantic__models.yml. The bundle is Superset's own import format (metadata.yaml,
databases/, datasets/, charts/, dashboards/), imported by bi/superset_setup.py.
"""

from __future__ import annotations

import csv
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from pipeline.settings import PROJECT_DIR

DASHBOARDS_DIR = PROJECT_DIR / "bi" / "dashboards"
PLAN_TARGETS_SEED = PROJECT_DIR / "dbt_project" / "seeds" / "plan_targets.csv"
DATABASE_FILE = "databases/warehouse.yaml"
DATABASE_NAME = "数据仓库（bi_reader）"
NAMESPACE = uuid.UUID("5b1f0e52-8c1e-4d7a-9a55-2f4f6f0c0b11")  # stable uuids: a re-import updates, never duplicates
AGGREGATIONS = {"sum": "SUM", "min": "MIN", "max": "MAX", "average": "AVG", "count": "COUNT"}
RATE_FORMAT, AMOUNT_FORMAT = ".1%", ",.0f"
VIZ_TYPES = {"line": "echarts_timeseries_line", "bar": "echarts_timeseries_bar", "mixed": "mixed_timeseries"}


class BundleError(ValueError):
    """A dashboard file names a dataset, metric or semantic model that does not exist."""


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    sql: str
    description: str
    d3format: str  # rates as percentages, amounts and counts with thousands separators


def _label(metric: dict[str, Any]) -> str:
    """The Chinese name of a label like 'Renewal rate (续保率)', else the label (else the name)."""
    label = metric.get("label") or metric["name"]
    chinese = re.search(r"\(([^()]*[\u4e00-\u9fff][^()]*)\)", label)
    return chinese.group(1) if chinese else label


def semantic_metrics(manifest: dict[str, Any], semantic_model: str) -> dict[str, Metric]:
    """Superset metrics of one semantic model: its simple metrics and the ratio metrics of two of them."""
    models = {model["name"]: model for model in manifest["semantic_models"]}
    if semantic_model not in models:
        raise BundleError(f"semantic model {semantic_model!r} is not in the semantic layer")
    measures = {measure["name"]: measure for measure in models[semantic_model]["measures"]}
    simple: dict[str, str] = {}
    out: dict[str, Metric] = {}
    for metric in manifest["metrics"]:
        params = metric["type_params"]
        if metric["type"] == "simple" and params["measure"]["name"] in measures and not metric.get("filter"):
            measure = measures[params["measure"]["name"]]
            if measure["agg"] not in AGGREGATIONS or params["measure"].get("filter"):
                raise BundleError(f"metric {metric['name']}: aggregation {measure['agg']!r} has no translation")
            sql = f"{AGGREGATIONS[measure['agg']]}({measure.get('expr') or measure['name']})"
            simple[metric["name"]] = sql
            out[metric["name"]] = Metric(
                metric["name"], _label(metric), sql, metric.get("description") or "", AMOUNT_FORMAT
            )
    for metric in manifest["metrics"]:
        params = metric["type_params"]
        if metric["type"] == "ratio" and not metric.get("filter"):
            numerator, denominator = params["numerator"], params["denominator"]
            if numerator["name"] in simple and denominator["name"] in simple:
                if numerator.get("filter") or denominator.get("filter"):
                    raise BundleError(f"metric {metric['name']}: filtered ratio inputs have no translation")
                sql = f"CAST({simple[numerator['name']]} AS NUMERIC) / NULLIF({simple[denominator['name']]}, 0)"
                description = metric.get("description") or ""
                out[metric["name"]] = Metric(metric["name"], _label(metric), sql, description, RATE_FORMAT)
    return out


def plan_metric_names_sql(column: str = "p.metric") -> str:
    """`case` of the plan metrics' Chinese names (seed plan_targets), so the seed stays their one home."""
    with PLAN_TARGETS_SEED.open(encoding="utf-8") as seed:
        rows = list(csv.DictReader(seed))
    whens = " ".join(f"when '{row['metric']}' then '{row['metric_name']}'" for row in rows)
    return f"case {column} {whens} else {column} end"


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def database_config(host: str, port: int, database: str, login: str) -> dict[str, Any]:
    return {
        "database_name": DATABASE_NAME,
        # the password is given at import (Superset keeps it encrypted); the mask tells Superset to keep that one
        "sqlalchemy_uri": f"postgresql+psycopg2://{login}:XXXXXXXXXX@{host}:{port}/{database}",
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "extra": {"allows_virtual_table_explore": True, "per_user_caching": True},
        "uuid": stable_uuid("database", "warehouse"),
        "version": "1.0.0",
    }


def _adhoc_where(sql: str) -> dict[str, Any]:
    return {"expressionType": "SQL", "sqlExpression": sql, "clause": "WHERE", "filterOptionName": stable_uuid(sql)}


def chart_params(chart: dict[str, Any], metrics: dict[str, Metric]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Superset's form data of a chart and the query its saved query context runs (for /api/v1/chart/{id}/data)."""
    names = chart.get("metrics", [])
    for name in names:
        if name not in metrics:
            raise BundleError(f"chart {chart['key']}: metric {name!r} is not a metric of its dataset")
    for name in chart.get("metrics_b", []):
        if name not in metrics:
            raise BundleError(f"chart {chart['key']}: metric {name!r} is not a metric of its dataset")
    formats = {metrics[name].d3format for name in names}
    number_format = formats.pop() if len(formats) == 1 and RATE_FORMAT in formats else "SMART_NUMBER"
    filters = [_adhoc_where(chart["where"])] if chart.get("where") else []
    viz = chart["viz"]
    groupby = chart.get("groupby", [])
    query: dict[str, Any] = {"columns": [], "metrics": names, "orderby": [], "row_limit": chart.get("row_limit", 10000)}
    if viz == "big_number_total":
        params = {"metric": names[0], "subheader": "", "y_axis_format": number_format, "header_font_size": 0.3}
    elif viz in ("line", "bar"):
        params = {
            "x_axis": "month",
            "time_grain_sqla": "P1M",
            "x_axis_time_format": "%Y-%m",
            "metrics": names,
            "groupby": groupby,
            "y_axis_format": number_format,
            "show_legend": True,
            "legendOrientation": "top",
            "rich_tooltip": True,
            "markerEnabled": True,
            "row_limit": 10000,
            "truncateYAxis": False,
        }
        query |= {"columns": ["month", *groupby], "orderby": [["month", True]]}
    elif viz == "mixed":  # metrics by groupby, and metrics_b over every group (a target line), on one axis
        params = {
            "x_axis": "month",
            "time_grain_sqla": "P1M",
            "x_axis_time_format": "%Y-%m",
            "metrics": names,
            "groupby": groupby,
            "metrics_b": chart["metrics_b"],
            "groupby_b": [],
            "adhoc_filters_b": [],
            "seriesType": "line",
            "seriesTypeB": "line",
            "markerEnabled": True,
            "markerEnabledB": False,
            "yAxisIndex": 0,
            "yAxisIndexB": 0,
            "y_axis_format": number_format,
            "y_axis_format_secondary": number_format,
            "show_legend": True,
            "legendOrientation": "top",
            "rich_tooltip": True,
            "row_limit": 10000,
            "row_limit_b": 10000,
        }
        query |= {"columns": ["month", *groupby], "orderby": [["month", True]]}
    elif viz == "pie":
        params = {
            "metric": names[0],
            "groupby": groupby,
            "show_labels": True,
            "label_type": "key_percent",
            "show_legend": True,
            "legendOrientation": "right",
            "number_format": "SMART_NUMBER",
            "row_limit": 100,
        }
        query |= {"columns": groupby, "orderby": [[names[0], False]]}
    elif viz == "table" and chart.get("columns"):
        order = chart.get("order_by", chart["columns"][0])
        params = {
            "query_mode": "raw",
            "all_columns": chart["columns"],
            "order_by_cols": [json.dumps([order, False])],
            "column_config": {column: {"d3NumberFormat": fmt} for column, fmt in (chart.get("formats") or {}).items()},
            "row_limit": chart.get("row_limit", 1000),
        }
        query |= {"columns": chart["columns"], "metrics": [], "orderby": [[order, False]]}
    elif viz == "table":
        order = chart.get("order_by", names[0])
        params = {
            "query_mode": "aggregate",
            "groupby": groupby,
            "metrics": names,
            "timeseries_limit_metric": order,
            "order_desc": True,
            "row_limit": chart.get("row_limit", 1000),
        }
        query |= {"columns": groupby, "orderby": [[order, False]]}
    else:
        raise BundleError(f"chart {chart['key']}: unknown viz {viz!r}")
    params |= {"viz_type": VIZ_TYPES.get(viz, viz), "adhoc_filters": filters}
    query |= {"filters": [], "extras": {"where": f"({chart['where']})" if chart.get("where") else "", "having": ""}}
    return params, query


def dashboard_bundle(spec: dict[str, Any], manifest: dict[str, Any], schema: str, database: dict[str, Any]) -> dict:
    """The files of Superset's import bundle (path → YAML text) for one dashboard spec."""
    title = spec["dashboard"]["title"]
    database_uuid = database["uuid"]
    files: dict[str, str] = {
        "metadata.yaml": _yaml(
            {"version": "1.0.0", "type": "Dashboard", "timestamp": datetime.now(UTC).isoformat(timespec="seconds")}
        ),
        DATABASE_FILE: _yaml(database),
    }
    dataset_metrics: dict[str, dict[str, Metric]] = {}
    dataset_uuids: dict[str, str] = {}
    for key, dataset in spec["datasets"].items():
        metrics = semantic_metrics(manifest, dataset["semantic_model"]) if dataset.get("semantic_model") else {}
        for name, extra in (dataset.get("extra_metrics") or {}).items():
            metrics[name] = Metric(name, extra["label"], extra["sql"], extra.get("description", ""), extra["format"])
        labels, formats = spec.get("metric_labels") or {}, spec.get("metric_formats") or {}
        metrics = {
            n: Metric(n, labels.get(n, m.label), m.sql, m.description, formats.get(n, m.d3format))
            for n, m in metrics.items()
        }
        dataset_metrics[key] = metrics
        dataset_uuids[key] = stable_uuid("dataset", key)
        sql = dataset["sql"].format(schema=schema, plan_metric_names=plan_metric_names_sql())
        files[f"datasets/warehouse/{key}.yaml"] = _yaml(
            {
                "table_name": key,
                "main_dttm_col": dataset.get("time_column"),
                "description": dataset.get("description") or dataset.get("title"),
                "default_endpoint": None,
                "offset": 0,
                "cache_timeout": None,
                "schema": schema,
                "sql": sql,
                "params": None,
                "template_params": None,
                "filter_select_enabled": True,
                "fetch_values_predicate": None,
                "extra": None,
                "uuid": dataset_uuids[key],
                "metrics": [
                    {
                        "metric_name": m.name,
                        "verbose_name": m.label,
                        "metric_type": None,
                        "expression": m.sql,
                        "description": m.description,
                        "d3format": m.d3format,
                        "extra": {},
                        "warning_text": None,
                    }
                    for m in metrics.values()
                ],
                "columns": [
                    {
                        "column_name": name,
                        "verbose_name": (spec.get("column_labels") or {}).get(name),
                        "is_dttm": kind in ("DATE", "TIMESTAMP"),
                        "is_active": True,
                        "type": kind,
                        "groupby": True,
                        "filterable": True,
                        "expression": None,
                        "description": None,
                        "python_date_format": None,
                        "extra": {},
                    }
                    for name, kind in dataset["columns"].items()
                ],
                "version": "1.0.0",
                "database_uuid": database_uuid,
            }
        )
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": title}},
    }
    for number, row in enumerate(spec["rows"], start=1):
        row_id = f"ROW-{number}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for chart in row:
            if chart["dataset"] not in dataset_metrics:
                raise BundleError(f"chart {chart['key']}: unknown dataset {chart['dataset']!r}")
            chart_uuid = stable_uuid("chart", chart["key"])
            params, query = chart_params(chart, dataset_metrics[chart["dataset"]])
            queries = [query]
            if chart["viz"] == "mixed":
                queries.append(query | {"columns": ["month"], "metrics": chart["metrics_b"]})
            query_context = {
                "datasource": {"id": 0, "type": "table"},
                "force": False,
                "queries": queries,
                "form_data": params,
                "result_format": "json",
                "result_type": "full",
            }
            files[f"charts/{chart['key']}.yaml"] = _yaml(
                {
                    "slice_name": chart["title"],
                    "description": None,
                    "certified_by": None,
                    "certification_details": None,
                    "viz_type": params["viz_type"],
                    "params": params,
                    "query_context": json.dumps(query_context, ensure_ascii=False),
                    "cache_timeout": None,
                    "uuid": chart_uuid,
                    "version": "1.0.0",
                    "dataset_uuid": dataset_uuids[chart["dataset"]],
                }
            )
            chart_id = f"CHART-{chart['key']}"
            position[row_id]["children"].append(chart_id)
            position[chart_id] = {
                "type": "CHART",
                "id": chart_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "width": chart.get("width", 4),
                    "height": 18 if chart["viz"] == "big_number_total" else 56,
                    "uuid": chart_uuid,
                    "chartId": len(files),  # a placeholder: the import puts the chart's id here
                    "sliceName": chart["title"],
                },
            }
    filters = [
        {
            "id": f"NATIVE_FILTER-{item['key']}",
            "name": item["name"],
            "filterType": "filter_select",
            "type": "NATIVE_FILTER",
            "targets": [{"datasetUuid": dataset_uuids[item["dataset"]], "column": {"name": item["column"]}}],
            "controlValues": {
                "enableEmptyFilter": False,
                "multiSelect": True,
                "searchAllOptions": False,
                "inverseSelection": False,
                "defaultToFirstItem": False,
                "sortAscending": True,
            },
            "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
            "cascadeParentIds": [],
            "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
            "description": "",
        }
        for item in spec.get("filters", [])
    ]
    files[f"dashboards/{spec['dashboard']['slug']}.yaml"] = _yaml(
        {
            "dashboard_title": title,
            "description": spec["dashboard"].get("description"),
            "css": "",
            "slug": spec["dashboard"]["slug"],
            "certified_by": None,
            "certification_details": None,
            "published": True,
            "uuid": stable_uuid("dashboard", spec["dashboard"]["slug"]),
            "position": position,
            "metadata": {
                "native_filter_configuration": filters,
                "color_scheme": "supersetColors",
                "refresh_frequency": 0,
                "expanded_slices": {},
                "label_colors": {},
                "timed_refresh_immune_slices": [],
                "cross_filters_enabled": False,
                "default_filters": "{}",
                "chart_configuration": {},
            },
            "version": "1.0.0",
        }
    )
    return files


def load_specs(folder: Path = DASHBOARDS_DIR) -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.yml"))]


def bundle(manifest: dict[str, Any], schema: str, database: dict[str, Any]) -> dict[str, str]:
    """Every dashboard of bi/dashboards in one bundle (shared database; datasets and charts by their keys)."""
    files: dict[str, str] = {}
    for spec in load_specs():
        files |= dashboard_bundle(spec, manifest, schema, database)
    return files
