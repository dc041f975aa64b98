"""Spreadsheet formulas in exported text are defused (OWASP: a leading quote), also behind leading
whitespace and in their full-width forms, through every CSV export."""

import csv
import io

import pytest

from bounceadmin.audit.models import AuditEvent
from bounceadmin.csvstream import defuse
from tests.support.factories import make_bounce, make_subuser, make_user

FORMULAS = [
    "=1+2", "+1 555 0100", "-2+3", "@SUM(A1:A2)", "\tleading tab", "\rcarriage return",
    " =1+2", "   +cmd|' /C calc'!A0", "\t=HYPERLINK(\"http://x\")", "\n=SUM(A1)", "\r\n@SUM(A1)",
    "\x0b=1", "\x0c-1", "\x1c=1", "\u00a0-2+3", "\u2003+1", "\u3000=1", "\u200b=1", "\ufeff@A1",
    " \u3000\t\u00a0=1", "＝1+1", "＋1", "－1", "＠SUM(A1)", " ＝1+1", "\u3000＠SUM(A1)",
]  # fmt: skip
HARMLESS = ["a=1", " plain", "", "   ", "5.1.1", "x-y@example.com", "'=already", "\u200b",
            "１２３", "550 = rejected"]  # fmt: skip


@pytest.mark.parametrize("value", FORMULAS)
def test_defuse_prefixes_a_quote_to_a_cell_that_would_start_a_formula(value):
    assert defuse(value) == "'" + value


@pytest.mark.parametrize("value", HARMLESS)
def test_defuse_leaves_other_text_alone(value):
    assert defuse(value) == value


def read_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.django_db
def test_the_bounce_export_defuses_every_formula(client):
    client.force_login(make_user(role="viewer"))
    sub = make_subuser("evil")
    for i, text in enumerate(FORMULAS + HARMLESS):
        make_bounce(sub, f"u{i}@x.test", reason=text)

    rows = read_csv(client.get("/bounces/export.csv"))

    reasons = {row["email"]: row["reason"] for row in rows}
    for i, text in enumerate(FORMULAS + HARMLESS):
        assert reasons[f"u{i}@x.test"] == (text if text in HARMLESS else "'" + text)


@pytest.mark.django_db
def test_the_audit_export_defuses_every_formula(client):
    client.force_login(make_user(role="viewer"))
    for text in FORMULAS + HARMLESS:
        AuditEvent.objects.create(actor_name=text, action=AuditEvent.Action.LOGIN)

    rows = read_csv(client.get("/audit/export.csv", {"action": "auth.login"}))

    actors = sorted(row["actor"] for row in rows if row["actor"] != "operator")  # its own login
    assert actors == sorted(["'" + t for t in FORMULAS] + HARMLESS)
