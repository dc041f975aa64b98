"""What keeps the bounce list fast over a million cached rows: the searches' query plans use the
indexes, and the searches that make an index usable still find exactly what they did."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from bounceadmin.bounces.filters import BounceFilter
from bounceadmin.bounces.models import Bounce, Subuser

from .factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db


def make_many(n, subuser=None, email="user{}@example.com"):
    subuser = subuser or make_subuser()
    now = timezone.now().replace(microsecond=0)
    return Bounce.objects.bulk_create(
        Bounce(
            subuser=subuser, email=email.format(i), status="5.1.1", reason="550 no such user",
            created=now - timedelta(minutes=i), type="hard", classification="Invalid Address",
            fault="recipient", first_seen=now, last_seen=now,
        )
        for i in range(n)
    )  # fmt: skip


def test_bounce_list_reason_words_are_literal_and_case_insensitive(client):
    sub = make_subuser()
    make_bounce(sub, "a@x.test", reason="421 Try again: 100%_Full now")
    make_bounce(sub, "b@x.test", reason="421 try again: 100 percent full")
    client.force_login(make_user())

    response = client.get("/bounces/", {"reason": "0%_fULL"})

    assert [b.email for b in response.context["table"].page.object_list.data] == ["a@x.test"]


def filtered(query):
    rows = BounceFilter(query, queryset=Bounce.objects.all(), subusers=Subuser.objects.all()).qs
    return rows.order_by("-created", "-id")[:50]


@pytest.fixture
def analyzed():
    """A few thousand rows with statistics, so that the planners choose as they do at scale."""
    make_many(3000, subuser=make_subuser("filler"), email="filler{}@example.org")


def plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE bounces_bounce")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # The test tables are tiny: make the planner show what it can use, not what is
                # cheapest for a few rows.
                cursor.execute("SET LOCAL enable_seqscan = off")
        return queryset.explain()


@pytest.mark.parametrize("email", ["jo", "JO_HN.SMITH1"])
def test_bounce_list_address_prefix_search_uses_the_address_index(analyzed, email):
    make_many(20, email="jo_hn.smith{}@example.com")

    assert "bounce_email_pattern" in plan(filtered({"email": email}))


def test_bounce_list_percent_search_uses_a_trigram_index_on_postgresql(analyzed):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no trigram index: the list walks bounce_created instead")
    make_many(20, email="anna.smith{}@example.com")

    assert "bounce_email_trgm" in plan(filtered({"email": "%smith"}))


def test_bounce_list_default_order_walks_the_created_index(analyzed):
    assert "bounce_created" in plan(filtered({}))


def test_bounce_list_prefix_search_finds_exactly_the_prefix(client):
    sub = make_subuser()
    for email in ["jo@x.test", "john@x.test", "johnny@x.test", "joho@x.test", "johm@x.test"]:
        make_bounce(sub, email)
    client.force_login(make_user())

    response = client.get("/bounces/", {"email": "JOHN"})

    listed = sorted(b.email for b in response.context["table"].page.object_list.data)
    assert listed == ["john@x.test", "johnny@x.test"]
