"""Mail the weekly report to its readers and each store's due lists to its insurance team.

Through Airflow's SMTP connection `dw_smtp` (the SMTP provider's hook: host, port, login, TLS and `from_email` are the
connection's, set like any Airflow connection, e.g. `AIRFLOW_CONN_DW_SMTP='{"conn_type": "smtp", "host": ...}'`). Who
receives what is the Airflow variable `dw_mail_recipients`, JSON:

    {"weekly_report": ["zongjingli@group.cn", "caiwu@group.cn"],
     "due_lists": {"S01": ["baoxian-s01@group.cn"], "S02": ["baoxian-s02@group.cn"]}}

Without the connection or without recipients nothing is sent and the task says so: a local run needs no mail server.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CONN_ID = "dw_smtp"
RECIPIENTS_VARIABLE = "dw_mail_recipients"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Letter:
    to: tuple[str, ...]
    subject: str
    html: str
    files: tuple[Path, ...]


def load_recipients() -> dict:
    from airflow.sdk import Variable

    text = Variable.get(RECIPIENTS_VARIABLE, default=None)
    if not text:
        return {}
    try:
        recipients = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"Airflow variable {RECIPIENTS_VARIABLE} is not JSON: {exc}") from exc
    if not isinstance(recipients, dict):
        raise ValueError(
            f"Airflow variable {RECIPIENTS_VARIABLE} must be a JSON object, got {type(recipients).__name__}"
        )
    return recipients


def weekly_report_letter(report: dict, recipients: dict) -> list[Letter]:
    """The week's report (workbook, page and, when rendered, its PDF) to the report's readers."""
    to = tuple(recipients.get("weekly_report") or ())
    if not to:
        return []
    files = [Path(report[kind]) for kind in ("workbook", "html", "pdf") if report.get(kind)]
    week = report["week_start"]
    html = (
        f"<p>各位好：</p><p>附件为 {week} 当周的保险经营周报（Excel 与网页版），数据来自数据仓库的集市表。</p>"
        "<p>滞后项目及其责任人见周报“滞后项目”一节。</p>"
    )
    return [Letter(to, f"保险经营周报 {week}", html, tuple(files))]


def due_list_letters(files_by_store: dict[str, Iterable[Path]], as_of: str, recipients: dict) -> list[Letter]:
    """Each store's due-list files to that store's insurance team only (they carry customers' phone numbers)."""
    teams = recipients.get("due_lists") or {}
    letters = []
    for store, files in sorted(files_by_store.items()):
        to = tuple(teams.get(store) or ())
        if to:
            html = (
                f"<p>{store} 保险部：</p><p>附件为 {as_of} 的应续清单，请按联系日期跟进。名单含客户电话，请勿外传。</p>"
            )
            letters.append(Letter(to, f"应续清单 {store} {as_of}", html, tuple(files)))
        else:
            log.warning(
                "no due-list recipients for store %s in %s; its lists were not mailed", store, RECIPIENTS_VARIABLE
            )
    return letters


def connection_configured() -> bool:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        BaseHook.get_connection(CONN_ID)
    except AirflowNotFoundException:
        return False
    return True


def send(letters: list[Letter]) -> dict:
    """Send the letters over one SMTP session; return what was sent (or why nothing was)."""
    if not letters:
        return {"sent": [], "skipped": f"no recipients in the Airflow variable {RECIPIENTS_VARIABLE}"}
    if not connection_configured():
        return {"sent": [], "skipped": f"no Airflow connection {CONN_ID}: mail is not configured"}
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    sent = []
    with SmtpHook(smtp_conn_id=CONN_ID) as hook:
        for letter in letters:
            hook.send_email_smtp(
                to=list(letter.to),
                subject=letter.subject,
                html_content=letter.html,
                files=[str(f) for f in letter.files],
            )
            sent.append({"to": list(letter.to), "subject": letter.subject, "files": [f.name for f in letter.files]})
    return {"sent": sent}
