"""The bounce export writes exactly what csv.writer (each text cell defused) and json.dumps write
for the same rows: the fast path changes the speed, not a byte."""

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from bounceadmin.bounces.export import _FIELDS, CSV_COLUMNS
from bounceadmin.bounces.models import Bounce
from bounceadmin.csvstream import defuse
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db

HOSTILE = [
    '=HYPERLINK("http://x","click")',
    "+1 555 0100",
    "-2+3",
    "@SUM(A1:A2)",
    "\tleading tab",
    "\rleading carriage return",
    "comma, inside",
    'a "quoted" word',
    "two\nlines",
    "windows\r\nline",
    "ünïcödé ✉ mailbox",
    "",
]


@pytest.fixture
def mixed(client):
    client.force_login(make_user(role="viewer"))
    now = timezone.now().replace(microsecond=123456)
    for s, name in enumerate(["alpha", "=beta", "gamma,delta"]):
        sub = make_subuser(name)
        for i, reason in enumerate(HOSTILE):
            make_bounce(
                sub, f"{'-' if i % 5 == 0 else ''}u{i}@x.test", reason=reason,
                status=["5.1.1", "4.2.2", "=5.0.0", ""][i % 4],
                created=now - timedelta(days=i, hours=s, seconds=i), removed=i % 3 == 0,
            )  # fmt: skip
    # Rows that share first_seen/last_seen (as a refresh writes them) and one far in the past.
    Bounce.objects.filter(email__startswith="u1").update(first_seen=now, last_seen=now)
    Bounce.objects.filter(email="u2@x.test").update(created=now.replace(year=2001))


def before_csv(queryset) -> str:
    """The plain way: each value as text (datetimes ISO 8601 in the zone), text defused, through
    csv.writer."""
    zone = timezone.get_current_timezone()

    def cell(value):
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.astimezone(zone).isoformat("T", "seconds")
        return defuse(str(value))

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    writer.writerows([cell(v) for v in row] for row in queryset.values_list(*_FIELDS))
    return buffer.getvalue()


def before_json(queryset) -> str:
    fields = ("subuser__username", "email", "status", "reason", "created")
    items = [
        json.dumps({"created": int(created.timestamp()), "email": email, "reason": reason,
                    "status": status, "subuser": subuser})
        for subuser, email, status, reason, created in queryset.values_list(*fields)
    ]  # fmt: skip
    body = "".join(("\n" if i == 0 else ",\n") + item for i, item in enumerate(items))
    return "[" + body + "\n]\n"


def export(client, **params) -> str:
    response = client.get("/bounces/export.csv", params)
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kathmandu"])
def test_bounce_export_is_byte_for_byte_what_the_generic_writer_writes(
    client, mixed, settings, zone
):
    settings.TIME_ZONE = zone
    everything = Bounce.objects.order_by("-created", "-id")
    by_email = Bounce.objects.filter(removed_at__isnull=True).order_by("-email", "-id")

    with timezone.override(zone):
        assert export(client, removed="1") == before_csv(everything)
        assert export(client, sort="-email") == before_csv(by_email)
        assert export(client, removed="1", format="json") == before_json(everything)

    text = export(client, removed="1")
    assert text.count("'=HYPERLINK") == 3 and '"\'=beta"' not in text and "'=beta," in text
    assert '"gamma,delta"' in text and '"windows\r\nline"' in text


def test_bounce_export_of_an_invalid_filter_answers_400_with_the_errors(client, mixed):
    csv_response = client.get("/bounces/export.csv", {"start_date": "not-a-date"})
    json_response = client.get(
        "/bounces/export.csv", {"start_date": "06/12/2026", "format": "json"}
    )

    assert csv_response.status_code == 400 and "Content-Disposition" not in csv_response
    assert "start_date: Enter a date as YYYY-MM-DD." in csv_response.content.decode()
    assert json_response.status_code == 400
    assert json_response.json() == {"errors": {"start_date": ["Enter a date as YYYY-MM-DD."]}}


def test_audit_export_of_an_invalid_filter_answers_400(client, mixed):
    response = client.get("/audit/export.csv", {"end_date": "yesterday"})

    assert response.status_code == 400 and "Content-Disposition" not in response
    assert "end_date: Enter a date as YYYY-MM-DD." in response.content.decode()
