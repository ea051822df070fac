"""Run the suites through a Great Expectations checkpoint and store every result in `dq`.

`great_expectations` is imported inside the functions: it costs seconds to import and DAG files must
parse fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from expectations.suites import (
    CRITICAL,
    FACT_COMMISSION_TOTAL,
    FACT_PREMIUM_TO_AS_OF,
    RAW_COMMISSION_TOTAL,
    RAW_PREMIUM_TOTAL,
    RAW_SETTLED_TOTAL,
    RAW_SUITES,
    Suite,
    all_feed_suites,
    mart_suites,
    money_mart_suites,
    published_mart_suites,
)

if TYPE_CHECKING:
    from pipeline.published import PublishedModel

RESULTS_DDL = """
create table if not exists dq.validation_results (
    run_id            text        not null,
    as_of             date        not null,
    checkpoint        text        not null,
    suite             text        not null,
    expectation       text        not null,
    column_name       text,
    severity          text        not null,
    success           boolean     not null,
    observed          jsonb,
    checked_at        timestamptz not null default now()
)
"""


OBSERVED_KEYS = ("observed_value", "element_count", "unexpected_count", "unexpected_percent", "partial_unexpected_list")
SAMPLE_SIZE = 20  # unexpected values kept of a check that found some (GX's default)
VIEW_PREFIX = "gate_"
MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1: a longer view name would be cut, and two could clash
POSITION = "check_position"  # the check's place in its suite, in the expectation's meta
DOCS_SITE = "warehouse"  # the pipeline steps pass $DW_HOME/data_docs (index.html)


class GateFailed(RuntimeError):
    """A critical expectation failed: nothing downstream may run."""


@dataclass
class GateResult:
    checkpoint: str
    evaluated: int = 0
    failed_critical: list[str] = field(default_factory=list)
    failed_warning: list[str] = field(default_factory=list)
    failed_batches: dict[int, list[str]] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return not self.failed_critical

    def summary(self) -> str:
        state = "passed" if self.success else "FAILED"
        return (
            f"{self.checkpoint}: {state}, {self.evaluated} expectations, "
            f"{len(self.failed_critical)} critical and {len(self.failed_warning)} warning failures"
        )


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg2://", 1) if url.startswith("postgresql://") else url


def run_suites(
    url: str,
    checkpoint_name: str,
    suites: tuple[Suite, ...],
    run_id: str,
    as_of: date,
    batch_filter: str = "true",
    docs_dir: Path | None = None,
) -> GateResult:
    """Validate the suites in one checkpoint, store every result in dq.validation_results, and update the Data Docs
    in `docs_dir` (none written when it is None).

    Two passes keep the gate to about one scan per check. The first counts: it takes no sample of unexpected values,
    since GX reads a sample with one more query per check even when the count is 0 (a whole scan of a table that
    passes). The checks that found unexpected values then run again, alone, with a sample of them, which dq and the
    weekly report show."""
    with suite_views(url, suites, batch_filter):
        outcomes = validate(url, checkpoint_name, suites, docs_dir)
        failing = {key for key, item in outcomes.items() if not item.success and unexpected_count(item)}
        if failing:
            outcomes |= validate(url, f"{checkpoint_name}_samples", suites, docs_dir, only=failing, sample=SAMPLE_SIZE)

    result = GateResult(checkpoint_name)
    rows = []
    for (suite_name, _), item in outcomes.items():
        config = item.expectation_config
        severity = str(getattr(config.severity, "value", config.severity) or CRITICAL)
        column = config.kwargs.get("column") or ",".join(config.kwargs.get("column_list", []) or []) or None
        label = f"{suite_name}: {config.type}({column or ''})"
        result.evaluated += 1
        if not item.success:
            (result.failed_critical if severity == CRITICAL else result.failed_warning).append(label)
        observed = {k: v for k, v in (item.result or {}).items() if k in OBSERVED_KEYS}
        rows.append(
            (
                run_id,
                as_of,
                checkpoint_name,
                suite_name,
                config.type,
                column,
                severity,
                bool(item.success),
                json.dumps(observed, default=str, ensure_ascii=False),
            )
        )
    with psycopg.connect(url) as conn:
        conn.execute(RESULTS_DDL)
        conn.execute(
            "delete from dq.validation_results where run_id = %s and checkpoint = %s", (run_id, checkpoint_name)
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                "insert into dq.validation_results (run_id, as_of, checkpoint, suite, expectation, column_name, "
                "severity, success, observed) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
    return result


def unexpected_count(item) -> int:
    return int((item.result or {}).get("unexpected_count") or 0)


@contextmanager
def suite_views(url: str, suites: tuple[Suite, ...], batch_filter: str) -> Iterator[None]:
    """Each suite's rows as a view in dq (`gate_<suite>`) while the gate runs, which GX validates as a table. GX finds
    the columns of a query asset by running the whole query and fetching every row (at 10M rows, every raw row into
    Python); a view's columns it reads from the catalog. The views are the checker's own (no other role is granted
    them) and dropped afterwards; the queries are the suites' code, the batch filter numbers."""
    names = [view_name(suite) for suite in suites]
    with psycopg.connect(url, autocommit=True) as conn:
        for suite, name in zip(suites, names, strict=True):
            conn.execute(sql.SQL("drop view if exists dq.{}").format(sql.Identifier(name)))
            query = suite.query.replace("{batch_filter}", batch_filter)
            conn.execute(sql.SQL("create view dq.{} as {}").format(sql.Identifier(name), sql.SQL(query)))  # type: ignore[arg-type]
    try:
        yield
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            for name in names:
                conn.execute(sql.SQL("drop view if exists dq.{}").format(sql.Identifier(name)))


def view_name(suite: Suite) -> str:
    name = VIEW_PREFIX + suite.name
    if len(name.encode()) > MAX_IDENTIFIER_BYTES:
        raise ValueError(f"suite name {suite.name!r} is too long for its view's name ({name!r})")
    return name


def validate(
    url: str,
    checkpoint_name: str,
    suites: tuple[Suite, ...],
    docs_dir: Path | None,
    only: set[tuple[str, int]] | None = None,
    sample: int = 0,
) -> dict[tuple[str, int], Any]:
    """One checkpoint over the suites' views (the checks in `only`, by suite and position, when given), keeping
    `sample` unexpected values of each check; GX's result of each check by suite and position."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_postgres("warehouse", connection_string=_sqlalchemy_url(url))
    definitions = []
    for suite in suites:
        positions = [i for i in range(len(suite.checks)) if only is None or (suite.name, i) in only]
        if not positions:
            continue
        asset = source.add_table_asset(suite.name, table_name=view_name(suite), schema_name="dq")
        batch = asset.add_batch_definition_whole_table(f"{suite.name}_all")
        expectation_suite = context.suites.add(gx.ExpectationSuite(name=suite.name))
        for i in positions:
            check = suite.checks[i]
            expectation = getattr(gxe, check.expectation)(**check.kwargs, severity=check.severity, meta={POSITION: i})
            expectation_suite.add_expectation(expectation)
        definitions.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(name=suite.name, data=batch, suite=expectation_suite)
            )
        )
    actions = []
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name=DOCS_SITE,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        actions.append(UpdateDataDocsAction(name="data_docs", site_names=[DOCS_SITE]))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=checkpoint_name,
            validation_definitions=definitions,
            actions=actions,
            result_format={"result_format": "BASIC", "partial_unexpected_count": sample},
        )
    )
    outcome = checkpoint.run()
    return {
        (validation.suite_name, int(item.expectation_config.meta[POSITION])): item
        for validation in outcome.run_results.values()
        for item in validation.results
    }


def raw_suites_for(batch_ids: list[int] | None) -> tuple[tuple[Suite, ...], str]:
    batch_filter = "true" if batch_ids is None else f"_batch_id in ({', '.join(str(int(b)) for b in batch_ids)})"
    suites = tuple(
        Suite(s.name, s.query.replace("{batch_filter}", batch_filter.replace("_batch_id", "batch_id")), s.checks)
        if s.name in ("raw_batches", "raw_row_count_change")
        else s
        for s in (*RAW_SUITES, *all_feed_suites())
    )
    return suites, batch_filter


def run_raw_checkpoint(
    url: str, run_id: str, as_of: date, batch_ids: list[int] | None, docs_dir: Path | None = None
) -> GateResult:
    """Validate the batches this run loaded, of every feed (all batches when `batch_ids` is None).

    When a critical expectation fails, each batch is validated on its own to name the batches that fail
    (`failed_batches`): those are held out of the marts, the others go on.
    """
    if batch_ids is not None and not batch_ids:
        return GateResult("raw_checkpoint")
    suites, batch_filter = raw_suites_for(batch_ids)
    result = run_suites(url, "raw_checkpoint", suites, run_id, as_of, batch_filter, docs_dir)
    if not result.success:
        for batch_id in batch_ids or []:
            single_suites, single_filter = raw_suites_for([batch_id])
            single = run_suites(url, f"raw_batch_{batch_id}", single_suites, run_id, as_of, single_filter, docs_dir)
            if not single.success:
                result.failed_batches[batch_id] = single.failed_critical
    return result


def run_mart_checkpoint(
    url: str, run_id: str, as_of: date, published: Mapping[str, PublishedModel], docs_dir: Path | None = None
) -> GateResult:
    with psycopg.connect(url) as conn:
        raw_premium = float(sum(row[0] for row in conn.execute(RAW_PREMIUM_TOTAL).fetchall()))
        raw_commission = float(conn.execute(RAW_COMMISSION_TOTAL).fetchone()[0])
        raw_settled = float(conn.execute(RAW_SETTLED_TOTAL).fetchone()[0])
        fact_commission = float(conn.execute(FACT_COMMISSION_TOTAL).fetchone()[0])
        premium_to_as_of = float(conn.execute(FACT_PREMIUM_TO_AS_OF, (as_of,)).fetchone()[0])
    suites = (
        *mart_suites(raw_premium, raw_commission, premium_to_as_of),
        *money_mart_suites(raw_settled, fact_commission),
        *published_mart_suites(published),
    )
    return run_suites(url, "marts_checkpoint", suites, run_id, as_of, docs_dir=docs_dir)
