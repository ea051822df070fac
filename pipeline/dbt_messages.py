"""What a person reads when dbt fails: the node, and for a row PostgreSQL refused, the constraint and the key.

dbt's run_results message of a refused write carries PostgreSQL's error and its `DETAIL:  Key (...)=(...)` line,
between dbt's own framing (`Database Error in model ...`, `compiled code at ...`). Only the error, the key detail
and the node are kept: never a traceback, never a `Failing row contains (...)` detail (it would copy a whole row,
personal data included, into alerts and logs).
"""

from __future__ import annotations

import re

_REFUSED = re.compile(
    r"(duplicate key value violates unique constraint \"[^\"]+\""
    r"|null value in column \"[^\"]+\" of relation \"[^\"]+\" violates not-null constraint"
    r"|violates foreign key constraint \"[^\"]+\""
    r"|violates check constraint \"[^\"]+\")"
)
_KEY_DETAIL = re.compile(r"DETAIL:\s+(Key \(.*?\)=\(.*?\) [^\n]*)")
_DBT_TMP = re.compile(r"__dbt_(?:tmp|backup)\d*")


def node_label(unique_id: str) -> str:
    """`model.dealer_dw.dim_customer` -> `model dim_customer`; a test keeps its full name."""
    kind, _, rest = unique_id.partition(".")
    return f"{kind} {rest.split('.')[-1] if kind != 'test' else rest.partition('.')[2]}"


def problem(item: dict) -> str:
    """One line for a failed or erroring node of run_results.json."""
    label = node_label(item["unique_id"])
    message = (item.get("message") or "").strip()
    refused = _REFUSED.search(message)
    if refused:
        what = _DBT_TMP.sub("", refused.group(0))  # dbt builds a table under a temporary name, then renames it
        key = _KEY_DETAIL.search(message)
        return f"{label}: PostgreSQL refused a row: {what}" + (f"; {key.group(1).strip()}" if key else "")
    first = next((line.strip() for line in message.splitlines() if line.strip() and "compiled code" not in line), "")
    return f"{label}: {first[:300]}"


def last_error_lines(output: str, lines: int = 8) -> str:
    """dbt's console output without a traceback: its last lines that are not stack frames."""
    kept = [
        line
        for line in output.splitlines()
        if line.strip() and not line.startswith(("Traceback", "  File ")) and not line.startswith("    ")
    ]
    return " | ".join(kept[-lines:])[-2000:]
