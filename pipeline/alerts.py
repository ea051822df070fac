"""Failure notification for Airflow tasks: a deployment points it at a chat hook or e-mail by settings.

`DW_ALERT_WEBHOOK`: a URL that receives a JSON POST (WeCom/DingTalk/Slack-style incoming webhooks accept
`{"msgtype": "text", "text": {"content": ...}}` or `{"text": ...}`; both keys are sent). `DW_ALERT_EMAIL`: a
comma-separated list for Airflow's SMTP settings. Without either, the alert is only logged.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request

log = logging.getLogger(__name__)


def alert_text(context: dict) -> str:
    task = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    exception = context.get("exception")
    return (
        f"[dealer-dw] task failed: {getattr(task, 'dag_id', '?')}.{getattr(task, 'task_id', '?')} "
        f"run {getattr(dag_run, 'run_id', '?')} (logical date {context.get('logical_date')}), "
        f"try {getattr(task, 'try_number', '?')}: {str(exception)[:1500]}"
    )


def notify_failure(context: dict) -> None:
    text = alert_text(context)
    log.error(text)
    webhook = os.environ.get("DW_ALERT_WEBHOOK")
    if webhook:
        body = json.dumps({"msgtype": "text", "text": {"content": text}, "content": text}, ensure_ascii=False)
        request = urllib.request.Request(
            webhook, data=body.encode("utf-8"), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except OSError as exc:  # an alert channel that is down must not hide the original failure
            log.error("alert webhook %s failed: %s", webhook, exc)
    recipients = os.environ.get("DW_ALERT_EMAIL")
    if recipients:
        try:
            from airflow.utils.email import send_email

            send_email(recipients.split(","), "[dealer-dw] task failed", text.replace("\n", "<br>"))
        except Exception as exc:  # SMTP misconfiguration is logged, never raised from a callback
            log.error("alert e-mail to %s failed: %s", recipients, exc)
    try:  # a failed run (retries spent) gives its run lock back, so the next run need not wait for it to go stale
        from pipeline.run_lock import release_after_failure

        release_after_failure(context)
    except Exception as exc:  # a lost server: the lock is taken over once stale
        log.error("could not release the run lock: %s", exc)
