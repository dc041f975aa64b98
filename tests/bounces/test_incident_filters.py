"""The filters an alert's incident is selected by: `domain` (the receiving domain, exact) and the
half-open window `since` <= created < `until`; the same on the list, its export, the deletion
preview, the API and /suppressions/; bad values are form errors; the domain filter walks its
expression index on both databases, which the refresh's index handling rebuilds like the others."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from bounceadmin.bounces.filters import BounceFilter
from bounceadmin.bounces.models import Bounce, Subuser
from bounceadmin.bounces.refresh.list_indexes import list_index_sql, list_indexes_missing
from bounceadmin.suppressions.lists import SuppressionList
from tests.api.v1_support import bearer_for
from tests.support.factories import make_bounce, make_subuser, make_suppression, make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def listed(client, query) -> list[str]:
    response = client.get("/bounces/", query)
    assert response.status_code == 200
    assert not response.context["filter"].form.errors, response.context["filter"].form.errors
    return sorted(b.email for b in response.context["table"].page.object_list.data)


def test_domain_filter_is_the_exact_receiving_domain_whatever_the_case(client):
    sub = make_subuser()
    emails = ["a@gmail.com", "b@GMAIL.com", "c@mail.gmail.com", "d@gmail.co", "gmail.com@x.test"]
    for email in [*emails, "e@x@gmail.com"]:
        make_bounce(sub, email)
    client.force_login(make_user())

    assert listed(client, {"domain": "Gmail.COM"}) == ["a@gmail.com", "b@gmail.com"]
    assert listed(client, {"domain": " @gmail.com "}) == ["a@gmail.com", "b@gmail.com"]
    # After the first `@`: the rest of an address with two of them.
    assert listed(client, {"domain": "x@gmail.com"}) == ["e@x@gmail.com"]
    assert listed(client, {"domain": "x.test"}) == ["gmail.com@x.test"]


def test_window_is_half_open_to_the_second(client):
    sub = make_subuser()
    for i, offset in enumerate([-1, 0, 1, 3599, 3600, 3601]):
        make_bounce(sub, f"s{i}@x.test", created=T0 + timedelta(seconds=offset))
    client.force_login(make_user())

    query = {"since": "2026-12-01T06:00:00Z", "until": "2026-12-01T07:00:00+00:00"}

    assert listed(client, query) == ["s1@x.test", "s2@x.test", "s3@x.test"]
    # An offset's `+` left unencoded arrives as a space: still the same instant.
    assert listed(client, {"until": "2026-12-01T08:00:00 01:00"}) == listed(
        client, {"until": "2026-12-01T07:00:00Z"}
    )
    assert listed(client, {"since": "2026-12-01T07:00:00Z"}) == ["s4@x.test", "s5@x.test"]
    # ISO 8601 allows offsets PostgreSQL refuses (past ±15:59): the same instant in UTC.
    assert listed(client, {"since": "2026-11-30T10:36:00-19:24"}) == listed(
        client, {"since": "2026-12-01T06:00:00Z"}
    )


@pytest.mark.parametrize(
    "query",
    [
        {"since": "yesterday"},
        {"until": "2026-13-01T00:00Z"},
        {"since": "0001-01-01T00:00+05:00"},  # before UTC's year 1
        {"until": "9999-12-31T23:00-05:00"},  # after UTC's year 9999
        {"domain": "x" * 300},
    ],
)
def test_bad_window_or_domain_is_a_form_error_everywhere(client, query):
    make_bounce(make_subuser(), "a@x.test")
    user = make_user(role="requester")
    client.force_login(user)
    name = next(iter(query))

    page = client.get("/bounces/", query)
    export = client.get("/bounces/export.csv", query)
    preview = client.get("/deletions/new/", {"scope": "filter", **query})
    api = client.get("/api/v1/bounces/", query, **bearer_for(user))
    all_lists = client.get("/suppressions/", query)

    assert page.status_code == 200 and name in page.context["filter"].form.errors
    assert "not valid" in page.content.decode()
    assert export.status_code == 400
    assert preview.status_code == 302  # back to the list, with the message
    assert api.status_code == 400 and name in str(api.json())
    assert all_lists.status_code == 200 and name in all_lists.context["filter"].form.errors


def test_window_fields_show_only_when_set(client):
    make_bounce(make_subuser(), "a@x.test")
    client.force_login(make_user())

    plain = client.get("/bounces/").content.decode()
    windowed = client.get("/bounces/", {"since": "2026-12-01T06:00Z"}).content.decode()

    assert 'name="domain"' in plain and 'name="since"' not in plain and 'name="until"' not in plain
    assert 'name="since" value="2026-12-01T06:00Z"' in windowed and 'name="until"' not in windowed


def test_incident_filters_select_the_same_rows_on_every_surface(client):
    sub, other = make_subuser("acme"), make_subuser("other")
    inside = T0 + timedelta(minutes=5)
    make_bounce(sub, "in@gmail.com", created=inside)
    make_bounce(sub, "early@gmail.com", created=T0 - timedelta(seconds=1))
    make_bounce(sub, "late@gmail.com", created=T0 + timedelta(hours=1))
    make_bounce(sub, "in@yahoo.com", created=inside)
    make_bounce(other, "in2@gmail.com", created=inside)
    make_suppression(sub, "block@gmail.com", SuppressionList.BLOCKS, created=inside)
    make_suppression(sub, "block@yahoo.com", SuppressionList.BLOCKS, created=inside)
    user = make_user(role="requester")
    client.force_login(user)
    query = {"subuser": "acme", "domain": "gmail.com", "since": "2026-12-01T06:00:00Z",
             "until": "2026-12-01T07:00:00Z"}  # fmt: skip

    export = b"".join(client.get("/bounces/export.csv", query).streaming_content).decode()
    preview = client.get("/deletions/new/", {"scope": "filter", **query}).context["preview"]
    api = client.get("/api/v1/bounces/", query, **bearer_for(user)).json()
    all_lists = client.get("/suppressions/", query).context["table"].page.object_list.data

    assert listed(client, query) == ["in@gmail.com"]
    assert "in@gmail.com" in export and "early@" not in export and "yahoo" not in export
    assert [b.email for s in preview.subusers for b in s.sample] == ["in@gmail.com"]
    assert [r["email"] for r in api["results"]] == ["in@gmail.com"]
    assert sorted(r.email for r in all_lists) == ["block@gmail.com", "in@gmail.com"]


def test_domain_index_is_a_list_index_the_refresh_rebuilds():
    assert "bounce_email_domain" in list_index_sql()
    assert list_indexes_missing() == []


def plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE bounces_bounce")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Tiny tables: what it can use. A bitmap scan of a few rows then sorts them; at
                # scale the planner walks the index in order, as it must here without bitmaps.
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute("SET LOCAL enable_bitmapscan = off")
        return queryset.explain()


def test_domain_filter_walks_the_domain_index_in_the_lists_order():
    filler = make_subuser("filler")
    now = T0
    Bounce.objects.bulk_create(
        Bounce(
            subuser=filler, email=f"user{i}@d{i % 300}.example", status="5.1.1", reason="550",
            created=now - timedelta(minutes=i), type="hard", classification="Invalid Address",
            fault="recipient", first_seen=now, last_seen=now,
        )
        for i in range(3000)
    )  # fmt: skip
    rows = BounceFilter(
        {"domain": "d7.example", "since": "2026-11-30T00:00Z"},
        queryset=Bounce.objects.all(),
        subusers=Subuser.objects.all(),
    ).qs.order_by("-created", "-id")[:50]

    found = plan(rows)

    assert "bounce_email_domain" in found, found
    assert "TEMP B-TREE" not in found and "Sort" not in found, found
