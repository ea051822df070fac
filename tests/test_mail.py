"""Mail through Airflow's SMTP connection to a real SMTP server on 127.0.0.1 (aiosmtpd): who gets which files."""

from __future__ import annotations

import json

import pytest

from pipeline import mail
from tests.conftest import attachments


def test_weekly_report_and_each_stores_due_lists_reach_their_readers_only(tmp_path, smtp_inbox, monkeypatch):
    files = {}
    for name in (
        "周报_2026-11-16.xlsx",
        "周报_2026-11-16.html",
        "应续清单_S01_2026-11-20.xlsx",
        "应续清单_S02_2026-11-20.xlsx",
    ):
        files[name] = tmp_path / name
        files[name].write_bytes(f"content of {name}".encode() + bytes(range(256)))
    recipients = {
        "weekly_report": ["gm@dealer.test", "finance@dealer.test"],
        "due_lists": {"S01": ["s01-ins@dealer.test"]},
    }
    monkeypatch.setenv("AIRFLOW_VAR_DW_MAIL_RECIPIENTS", json.dumps(recipients))
    loaded = mail.load_recipients()
    report = {
        "week_start": "2026-11-16",
        "workbook": files["周报_2026-11-16.xlsx"],
        "html": files["周报_2026-11-16.html"],
    }
    letters = mail.weekly_report_letter(report, loaded) + mail.due_list_letters(
        {"S01": [files["应续清单_S01_2026-11-20.xlsx"]], "S02": [files["应续清单_S02_2026-11-20.xlsx"]]},
        "2026-11-20",
        loaded,
    )
    result = mail.send(letters)

    # two letters: the report to its two readers, S01's list to S01's team; S02 has no team address, so nothing
    assert [s["subject"] for s in result["sent"]] == ["保险经营周报 2026-11-16", "应续清单 S01 2026-11-20"]
    assert len(smtp_inbox.messages) == 2
    (sender, to, report_mail), (_, to_s01, s01_mail) = smtp_inbox.messages
    assert sender == "dw@dealer.test"
    assert sorted(to) == ["finance@dealer.test", "gm@dealer.test"]
    assert report_mail["Subject"] == "保险经营周报 2026-11-16"
    assert attachments(report_mail) == {
        "周报_2026-11-16.xlsx": files["周报_2026-11-16.xlsx"].read_bytes(),
        "周报_2026-11-16.html": files["周报_2026-11-16.html"].read_bytes(),
    }
    assert to_s01 == ["s01-ins@dealer.test"]
    assert attachments(s01_mail) == {"应续清单_S01_2026-11-20.xlsx": files["应续清单_S01_2026-11-20.xlsx"].read_bytes()}
    assert "请勿外传" in s01_mail.get_body(("html",)).get_content()


def test_nothing_is_sent_without_a_connection_or_recipients(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_DW_SMTP", raising=False)
    monkeypatch.delenv("AIRFLOW_VAR_DW_MAIL_RECIPIENTS", raising=False)
    assert mail.load_recipients() == {}
    assert mail.send(mail.weekly_report_letter({"week_start": "2026-11-16"}, {})) == {
        "sent": [],
        "skipped": "no recipients in the Airflow variable dw_mail_recipients",
    }
    letter = mail.Letter(("gm@dealer.test",), "s", "<p>x</p>", ())
    assert mail.send([letter]) == {"sent": [], "skipped": "no Airflow connection dw_smtp: mail is not configured"}
    monkeypatch.setenv("AIRFLOW_VAR_DW_MAIL_RECIPIENTS", "not json")
    with pytest.raises(ValueError, match="dw_mail_recipients is not JSON"):
        mail.load_recipients()
