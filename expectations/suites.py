"""Great Expectations suites, as code.

Row-level problems are quarantined by ingestion already; these suites catch what a single row cannot show
(a batch with many rejects, an implausible commission rate, a store nobody knows) and guard the marts
(reconciliation to the cent). `critical` failures stop the run before anything downstream changes;
`warning` ones are recorded in `dq` and reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.published import PublishedModel

VIN_REGEX = r"^[A-HJ-NPR-Z0-9]{17}$"
CRITICAL = "critical"
WARNING = "warning"
MAX_REJECT_SHARE = 0.5  # half a file quarantined: the export itself is broken (shifted columns, wrong unit)
WARN_REJECT_SHARE = 0.1
MAX_COMMISSION_RATE = 0.5  # above this the rate column is almost surely in the wrong unit
MAX_LINE_PREMIUM = 100_000  # yuan per coverage line; larger is possible but worth a look


@dataclass(frozen=True)
class Check:
    expectation: str  # class name in great_expectations.expectations
    kwargs: dict[str, Any]
    severity: str = CRITICAL


@dataclass(frozen=True)
class Suite:
    name: str
    query: str  # the rows to validate; {batch_filter} narrows raw suites to this run's batches
    checks: tuple[Check, ...]


def insurer_suite(feed: str, premium_columns: list[str]) -> Suite:
    """Business ranges of the insurer feeds. Columns, keys per batch, required policy numbers and VINs are in the
    feed's spec suite (`feed_suite`), not repeated here: each expectation is another pass over the batches."""
    premium_checks = tuple(
        Check(
            "ExpectColumnValuesToBeBetween",
            {"column": column, "min_value": -MAX_LINE_PREMIUM, "max_value": MAX_LINE_PREMIUM, "mostly": 1.0},
            WARNING,
        )
        for column in premium_columns
    )
    return Suite(
        name=f"raw_{feed}",
        query=f"select * from raw.{feed} where {{batch_filter}}",
        checks=(
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "commission_rate", "min_value": 0, "max_value": MAX_COMMISSION_RATE},
            ),
            Check(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "end_date", "column_B": "start_date", "or_equal": True},
            ),
            Check("ExpectColumnValuesToMatchRegex", {"column": "store_code", "regex": r"^S\d{2,3}$"}, WARNING),
            Check("ExpectColumnValuesToMatchRegex", {"column": "staff_id", "regex": r"^E\d{4,6}$"}, WARNING),
            *premium_checks,
        ),
    )


def feed_suite(spec) -> Suite:
    """The checks every feed gets from its spec: columns, keys per batch, required values, value sets, VINs,
    amounts in a sane range (warning)."""
    from ingestion.feeds import Kind

    checks = [
        Check(
            "ExpectTableColumnsToMatchSet",
            {
                "column_set": [c.name for c in spec.columns] + ["_batch_id", "_source_file", "_row_number"],
                "exact_match": False,
            },
        ),
        Check("ExpectCompoundColumnsToBeUnique", {"column_list": [*spec.key, "_batch_id"], "ignore_row_if": "never"}),
    ]
    for column in spec.columns:
        if column.required:
            checks.append(Check("ExpectColumnValuesToNotBeNull", {"column": column.name}))
        if column.values:
            checks.append(
                Check("ExpectColumnValuesToBeInSet", {"column": column.name, "value_set": list(column.values)})
            )
        if column.kind == Kind.VIN:
            checks.append(Check("ExpectColumnValuesToMatchRegex", {"column": column.name, "regex": VIN_REGEX}))
        if column.kind == Kind.MONEY:
            checks.append(
                Check(
                    "ExpectColumnValuesToBeBetween",
                    {"column": column.name, "min_value": -10_000_000, "max_value": 10_000_000},
                    WARNING,
                )
            )
    return Suite(
        name=f"raw_{spec.feed_id}_spec",
        query=f"select * from raw.{spec.feed_id} where {{batch_filter}}",
        checks=tuple(checks),
    )


def all_feed_suites() -> tuple[Suite, ...]:
    from ingestion.feeds import FEEDS

    return tuple(feed_suite(spec) for spec in FEEDS.values())


ROW_COUNT_CHANGE = Suite(
    name="raw_row_count_change",
    query="select * from (select feed, source_file, batch_id, rows_loaded::float / nullif(lag(rows_loaded) "
    "over (partition by feed order by export_date, batch_id), 0) as row_count_ratio "
    "from raw._batches where status = 'loaded') as ratios where {batch_filter}",
    checks=(
        Check(
            "ExpectColumnValuesToBeBetween", {"column": "row_count_ratio", "min_value": 0.2, "max_value": 5.0}, WARNING
        ),
    ),
)

RAW_SUITES: tuple[Suite, ...] = (
    ROW_COUNT_CHANGE,
    insurer_suite("insurer_picc", ["premium"]),
    insurer_suite("insurer_paic", ["premium"]),
    insurer_suite("insurer_cpic", ["ctp_premium", "vd_premium", "tpl_premium", "seat_premium", "rider_premium"]),
    Suite(
        name="raw_batches",
        # rows held for a staff code the roster does not list yet are valid (ingestion/staff_hold.py): not a
        # broken export, so not in the share (a lagging roster would otherwise hold the whole batch)
        query="select feed, source_file, (rows_rejected - (select count(*) from raw._rejects held "
        "where held.batch_id = raw._batches.batch_id and held.held_staff_code is not null))::float "
        "/ nullif(rows_read, 0) as reject_share from raw._batches where {batch_filter}",
        checks=(
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "reject_share", "min_value": 0, "max_value": MAX_REJECT_SHARE},
            ),
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "reject_share", "min_value": 0, "max_value": WARN_REJECT_SHARE},
                WARNING,
            ),
        ),
    ),
)


def newest_loaded(table: str, key: str) -> str:
    """The insurer rows the marts must account for: the newest export of each natural key among the loaded
    (not held) batches, as staging keeps them (dbt macros from_loaded_batches and latest_per_key)."""
    return f"""select distinct on ({key}) rows.*
    from raw.{table} as rows
    inner join raw._batches as batches on rows._batch_id = batches.batch_id
    where batches.status = 'loaded'
    order by {key}, batches.export_date desc, rows._batch_id desc, rows._row_number desc"""


POLICY_KEY = "policy_no, coalesce(endorsement_no, '')"
PICC_ROWS = newest_loaded("insurer_picc", POLICY_KEY)
PAIC_ROWS = newest_loaded("insurer_paic", f"{POLICY_KEY}, coverage_name")
CPIC_ROWS = newest_loaded("insurer_cpic", POLICY_KEY)

RAW_PREMIUM_TOTAL = f"""
select coalesce(sum(premium), 0) from ({PICC_ROWS}) picc
union all
select coalesce(sum(premium), 0) from ({PAIC_ROWS}) paic
union all
select coalesce(sum(coalesce(ctp_premium, 0) + coalesce(vd_premium, 0) + coalesce(tpl_premium, 0)
                    + coalesce(seat_premium, 0) + coalesce(rider_premium, 0)), 0) from ({CPIC_ROWS}) cpic
"""


RAW_COMMISSION_TOTAL = f"""
with picc as ({PICC_ROWS}),
paic as ({PAIC_ROWS}),
cpic as ({CPIC_ROWS})
select coalesce(sum(round(amount / 1.06 * rate, 2)), 0) from (
    select premium as amount, commission_rate as rate from picc where coverage_detail is null
    union all
    select replace(split_part(item, ':', 2), ',', '')::numeric, commission_rate
    from picc, regexp_split_to_table(coverage_detail, ';') as item where coverage_detail is not null
    union all
    select premium, commission_rate from paic
    union all
    select amount, commission_rate from cpic,
        unnest(array[ctp_premium, vd_premium, tpl_premium, seat_premium, rider_premium]) as amount
    where amount is not null and amount <> 0
) as lines
"""

# Commission statements: the newest export of each statement row among the loaded batches; settled = 已结算.
SETTLEMENT_ROWS = newest_loaded(
    "insurer_settlements", "statement_no, policy_no, coalesce(endorsement_no, ''), policy_class"
)
RAW_SETTLED_TOTAL = f"""
select coalesce(sum(commission_amount), 0) from ({SETTLEMENT_ROWS}) statements where settlement_status = '已结算'
"""
FACT_COMMISSION_TOTAL = "select coalesce(sum(commission_amount), 0) from marts.fct_policy_transactions"
# the daily report runs to the as-of date: a run for an earlier day than data already loaded (a backfill) leaves out
# what was signed later, so it ties to the fact's premium signed up to that day (and the fact ties to raw)
FACT_PREMIUM_TO_AS_OF = "select coalesce(sum(premium), 0) from marts.fct_policy_transactions where sign_date <= %s"


def money_mart_suites(raw_settled_total: float, fact_commission_total: float) -> tuple[Suite, ...]:
    """The money marts reconcile to the cent: settled commission = the settled rows of the loaded statements, expected
    commission = the fact's commission, in the detail and in the monthly report alike."""
    settled = {"min_value": raw_settled_total - 0.005, "max_value": raw_settled_total + 0.005}
    expected = {"min_value": fact_commission_total - 0.005, "max_value": fact_commission_total + 0.005}
    return tuple(
        Suite(
            name=f"marts_{model}_reconciles",
            query=f"select * from marts.{model}",
            checks=(
                Check("ExpectColumnSumToBeBetween", {"column": "settled_commission", **settled}),
                Check("ExpectColumnSumToBeBetween", {"column": "expected_commission", **expected}),
            ),
        )
        for model in ("fct_commission_settlement", "rpt_commission_reconciliation_monthly")
    )


ORPHANS = """
select 'store' as dimension, count(*) as orphans from marts.fct_policy_transactions f
    left join marts.dim_store d using (store_code) where d.store_code is null
union all
select 'staff', count(*) from marts.fct_policy_transactions f
    left join marts.dim_staff d using (staff_id) where d.staff_id is null
union all
select 'vehicle', count(*) from marts.fct_policy_transactions f
    left join marts.dim_vehicle d using (vin) where d.vin is null
union all
select 'renewal vehicle', count(*) from marts.fct_renewal_opportunities f
    left join marts.dim_vehicle d using (vin) where d.vin is null
"""

RATE_COLUMNS = {
    "rpt_renewal_rate_monthly": ["renewal_rate"],
    "rpt_new_car_penetration_monthly": ["penetration_rate"],
    "rpt_accident_repair_retention_monthly": ["retention_rate"],
    "rpt_linkage_monthly": ["conversion_rate"],
    "rpt_churn_analysis": ["churn_rate"],
    "rpt_weekly_kpis": ["renewal_rate", "penetration_rate", "retention_rate"],
    "rpt_insurer_scorecard_monthly": ["renewal_rate", "recommend_rate", "retention_rate"],
}


def published_mart_suites(published: Mapping[str, PublishedModel]) -> tuple[Suite, ...]:
    """Key and rate checks of the published marts (pipeline.published reads them from dbt's manifest). A key that
    PostgreSQL holds as a primary key (every published mart declares one in its contract) is not checked again here;
    the rates (0–1) are."""
    suites = []
    for model, declared in published.items():
        key = list(declared.primary_key)
        checks = []
        if not declared.key_is_constraint:
            checks.append(
                Check("ExpectCompoundColumnsToBeUnique", {"column_list": key, "ignore_row_if": "never"})
                if len(key) > 1
                else Check("ExpectColumnValuesToBeUnique", {"column": key[0]})
            )
            checks += [Check("ExpectColumnValuesToNotBeNull", {"column": column}) for column in key]
        checks += [
            Check("ExpectColumnValuesToBeBetween", {"column": column, "min_value": 0, "max_value": 1})
            for column in RATE_COLUMNS.get(model, [])
        ]
        if checks:
            suites.append(Suite(f"marts_keys_{model}", f"select * from marts.{model}", tuple(checks)))
    suites.append(
        Suite(
            "marts_orphan_keys",
            ORPHANS,
            (Check("ExpectColumnValuesToBeBetween", {"column": "orphans", "min_value": 0, "max_value": 0}),),
        )
    )
    return tuple(suites)


def mart_suites(
    raw_premium_total: float, raw_commission_total: float | None = None, premium_to_as_of: float | None = None
) -> tuple[Suite, ...]:
    exact = {"min_value": raw_premium_total - 0.005, "max_value": raw_premium_total + 0.005}
    to_as_of = raw_premium_total if premium_to_as_of is None else premium_to_as_of
    exact_to_as_of = {"min_value": to_as_of - 0.005, "max_value": to_as_of + 0.005}
    commission = (
        (
            Check(
                "ExpectColumnSumToBeBetween",
                {
                    "column": "commission_amount",
                    "min_value": raw_commission_total - 0.005,
                    "max_value": raw_commission_total + 0.005,
                },
            ),
        )
        if raw_commission_total is not None
        else ()
    )
    return (
        Suite(
            name="marts_fct_policy_transactions",
            query="select * from marts.fct_policy_transactions",
            checks=(
                Check("ExpectColumnSumToBeBetween", {"column": "premium", **exact}),
                *commission,
                Check("ExpectColumnValuesToNotBeNull", {"column": "policy_no"}),
                Check(
                    "ExpectColumnValuesToBeInSet",
                    {"column": "txn_type", "value_set": ["issue", "endorsement", "cancellation"]},
                ),
                Check(
                    "ExpectColumnValuesToNotBeInSet", {"column": "coverage_code", "value_set": ["UNMAPPED"]}, WARNING
                ),
            ),
        ),
        Suite(
            name="marts_rpt_daily_operations",
            query="select * from marts.rpt_daily_operations",
            checks=(
                Check("ExpectColumnSumToBeBetween", {"column": "premium", **exact_to_as_of}),
                Check("ExpectColumnValuesToBeBetween", {"column": "mtd_attainment_rate", "min_value": 0}, WARNING),
            ),
        ),
    )
