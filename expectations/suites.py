"""Great Expectations suites, as code.

Row-level problems are quarantined by ingestion already; these suites catch what a single row cannot show
(a batch with many rejects, an implausible commission rate, a store nobody knows) and guard the marts
(reconciliation to the cent). `critical` failures stop the run before anything downstream changes;
`warning` ones are recorded in `dq` and reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def insurer_suite(feed: str, key: list[str], premium_columns: list[str]) -> Suite:
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
                "ExpectTableColumnsToMatchSet",
                {
                    "column_set": [
                        "policy_no",
                        "vin",
                        "sign_date",
                        "start_date",
                        "end_date",
                        "commission_rate",
                        "staff_id",
                        "store_code",
                    ],
                    "exact_match": False,
                },
            ),
            Check("ExpectColumnValuesToNotBeNull", {"column": "policy_no"}),
            Check("ExpectColumnValuesToMatchRegex", {"column": "vin", "regex": VIN_REGEX}),
            Check("ExpectCompoundColumnsToBeUnique", {"column_list": [*key, "_batch_id"], "ignore_row_if": "never"}),
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


RAW_SUITES: tuple[Suite, ...] = (
    insurer_suite("insurer_picc", ["policy_no", "endorsement_no"], ["premium"]),
    insurer_suite("insurer_paic", ["policy_no", "endorsement_no", "coverage_name"], ["premium"]),
    insurer_suite(
        "insurer_cpic",
        ["policy_no", "endorsement_no"],
        ["ctp_premium", "vd_premium", "tpl_premium", "seat_premium", "rider_premium"],
    ),
    Suite(
        name="raw_batches",
        query="select feed, source_file, rows_rejected::float / nullif(rows_read, 0) as reject_share "
        "from raw._batches where {batch_filter} and feed like 'insurer%%'",
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

# The insurer rows the marts must account for: the newest export of each natural key among the loaded (not
# held) batches, as staging keeps it.
RAW_PREMIUM_TOTAL = """
select coalesce(sum(premium), 0) from (
    select distinct on (policy_no, coalesce(endorsement_no, '')) premium
    from raw.insurer_picc
    where _batch_id in (select batch_id from raw._batches where status = 'loaded')
    order by policy_no, coalesce(endorsement_no, ''), _export_date desc, _batch_id desc, _row_number desc
) picc
union all
select coalesce(sum(premium), 0) from (
    select distinct on (policy_no, coalesce(endorsement_no, ''), coverage_name) premium
    from raw.insurer_paic
    where _batch_id in (select batch_id from raw._batches where status = 'loaded')
    order by policy_no, coalesce(endorsement_no, ''), coverage_name,
        _export_date desc, _batch_id desc, _row_number desc
) paic
union all
select coalesce(sum(coalesce(ctp_premium, 0) + coalesce(vd_premium, 0) + coalesce(tpl_premium, 0)
                    + coalesce(seat_premium, 0) + coalesce(rider_premium, 0)), 0) from (
    select distinct on (policy_no, coalesce(endorsement_no, '')) *
    from raw.insurer_cpic
    where _batch_id in (select batch_id from raw._batches where status = 'loaded')
    order by policy_no, coalesce(endorsement_no, ''), _export_date desc, _batch_id desc, _row_number desc
) cpic
"""


def mart_suites(raw_premium_total: float) -> tuple[Suite, ...]:
    exact = {"min_value": raw_premium_total - 0.005, "max_value": raw_premium_total + 0.005}
    return (
        Suite(
            name="marts_fct_policy_transactions",
            query="select * from marts.fct_policy_transactions",
            checks=(
                Check("ExpectColumnSumToBeBetween", {"column": "premium", **exact}),
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
                Check("ExpectColumnSumToBeBetween", {"column": "premium", **exact}),
                Check("ExpectColumnValuesToBeBetween", {"column": "mtd_attainment_rate", "min_value": 0}, WARNING),
            ),
        ),
    )
