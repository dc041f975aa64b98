"""/suppressions/export.csv: the table's filter, both tables merged in its order, streamed, with
upstream text defused for spreadsheets."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.suppressions.export import CSV_COLUMNS
from tests.support.factories import (
    make_bounce,
    make_group,
    make_subuser,
    make_suppression,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(client):
    client.force_login(make_user())
    now = timezone.now().replace(microsecond=0)
    acme = make_subuser("acme")
    make_bounce(acme, "b@example.com", reason='=HYPERLINK("http://evil")', created=now)
    make_suppression(acme, "s@example.com", "blocks", status="550", reason="+cmd, now",
                     created=now)  # fmt: skip
    make_suppression(acme, "u@example.com", group=make_group(acme, "@News"),
                     created=now - timedelta(hours=2))  # fmt: skip
    make_suppression(acme, "r@example.com", "spam_reports", ip="-1.2.3.4",
                     created=now - timedelta(hours=1))  # fmt: skip
    make_suppression(acme, "gone@example.com", "blocks", removed=True)
    return now


def rows(response):
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_export_headers_and_file(client, data):
    response = client.get("/suppressions/export.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="suppressions-')
    assert response["Content-Disposition"].endswith('.csv"')
    assert response.streaming
    assert rows(response)[0] == CSV_COLUMNS


def test_export_holds_both_tables_in_the_tables_order(client, data):
    found = rows(client.get("/suppressions/export.csv"))[1:]
    # Newest first; in a tie on `created`, bounces before the other lists.
    assert [(r[0], r[3]) for r in found] == [
        ("bounces", "b@example.com"),
        ("blocks", "s@example.com"),
        ("spam_reports", "r@example.com"),
        ("group_unsubscribes", "u@example.com"),
    ]
    oldest_first = rows(client.get("/suppressions/export.csv?sort=created"))[1:]
    assert [r[3] for r in oldest_first] == [r[3] for r in found][::-1]
    bounce = found[0]
    assert bounce[4] == "5.1.1" and bounce[7] in ("hard", "soft") and bounce[8]


def test_export_defuses_formulas_in_upstream_text(client, data):
    by_email = {r[3]: r for r in rows(client.get("/suppressions/export.csv"))[1:]}
    assert by_email["b@example.com"][5] == '\'=HYPERLINK("http://evil")'
    assert by_email["s@example.com"][5] == "'+cmd, now"
    assert by_email["r@example.com"][6] == "'-1.2.3.4"
    assert by_email["u@example.com"][1] == "'@News"


def test_export_follows_the_filters(client, data):
    found = rows(client.get("/suppressions/export.csv?list=blocks&removed=1"))[1:]
    assert sorted(r[3] for r in found) == ["gone@example.com", "s@example.com"]
    assert [r[0] for r in rows(client.get("/suppressions/export.csv?type=hard"))[1:]] == ["bounces"]


def test_export_with_filters_not_valid_is_400_with_what_is_wrong(client, data):
    response = client.get("/suppressions/export.csv?start_date=yesterday")
    assert response.status_code == 400
    assert "start_date" in response.content.decode()
