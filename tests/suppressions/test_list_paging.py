"""Paging through both tables as one list: every match once, in order, however the pages are
reached (Next, Previous, numbers), with many entries of both tables at the same second."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bounceadmin.bounces.models import Bounce
from bounceadmin.suppressions.models import Suppression
from tests.support.factories import make_subuser, make_suppression, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def tied(client):
    """45 bounces and 45 other entries over three seconds: 15 of each table per second."""
    client.force_login(make_user())
    now = timezone.now().replace(microsecond=0)
    acme, globex = make_subuser("acme"), make_subuser("globex")
    Bounce.objects.bulk_create(
        Bounce(subuser=(acme, globex)[i % 2], email=f"b{i:02d}@x.test", status="5.1.1",
               created=now - timedelta(seconds=i % 3), type="hard", first_seen=now,
               last_seen=now)
        for i in range(45)
    )  # fmt: skip
    Suppression.objects.bulk_create(
        Suppression(subuser=(acme, globex)[i % 2], email=f"s{i:02d}@x.test",
                    list=("blocks", "spam_reports", "global_unsubscribes")[i % 3],
                    created=now - timedelta(seconds=i % 3), first_seen=now, last_seen=now)
        for i in range(45)
    )  # fmt: skip
    return now


def key(entry):
    return (entry.created, entry.is_bounce, entry.record.pk)


def follow(client, query, link):
    pages, url = [], f"/suppressions/?{query}"
    while True:
        page = client.get(url).context["table"].page
        pages.append([(e.list == "bounces", e.record.pk) for e in page.object_list.data])
        keys = [key(e) for e in page.object_list.data]
        pages[-1] = (pages[-1], keys)
        query = page.next_query if link == "next" else page.previous_query
        if query is None:
            return pages
        url = f"/suppressions/?{query}"


@pytest.mark.parametrize("sort", ["-created", "created"])
def test_next_reaches_every_entry_once_in_order(client, tied, sort):
    pages = follow(client, urlencode({"per_page": 25, "sort": sort}), "next")
    assert len(pages) == 4  # 90 rows, 25 a page
    ids = [i for rows, _ in pages for i in rows]
    keys = [k for _, ks in pages for k in ks]
    assert len(ids) == len(set(ids)) == 90
    assert keys == sorted(keys, reverse=sort.startswith("-"))


def test_previous_walks_back_the_same_pages(client, tied):
    forward = follow(client, "per_page=25", "next")
    last = client.get("/suppressions/?per_page=25")
    query = last.context["table"].page.next_query
    for _ in range(len(forward) - 2):
        query = client.get(f"/suppressions/?{query}").context["table"].page.next_query
    backward = follow(client, query, "previous")
    assert [rows for rows, _ in backward][::-1] == [rows for rows, _ in forward]


def test_numbered_pages_match_the_cursor_pages(client, tied):
    forward = follow(client, "per_page=25", "next")
    for number, (rows, _) in enumerate(forward, start=1):
        page = client.get(f"/suppressions/?per_page=25&page={number}").context["table"].page
        assert [(e.list == "bounces", e.record.pk) for e in page.object_list.data] == rows


def test_a_list_filter_pages_through_both_sides(client, tied):
    pages = follow(client, "per_page=25&list=bounces&list=blocks", "next")
    ids = [i for rows, _ in pages for i in rows]
    assert len(ids) == len(set(ids)) == 60


@pytest.fixture
def analyzed(tied):
    """A few thousand rows of each table with statistics, so that the planners choose as they
    do at scale."""
    filler, now = make_subuser("filler"), timezone.now()
    Bounce.objects.bulk_create(
        Bounce(subuser=filler, email=f"f{i}@x.test", created=now - timedelta(minutes=i),
               type="hard", first_seen=now, last_seen=now)
        for i in range(3000)
    )  # fmt: skip
    Suppression.objects.bulk_create(
        Suppression(subuser=filler, email=f"f{i}@x.test", list="blocks",
                    created=now - timedelta(minutes=i), first_seen=now, last_seen=now)
        for i in range(3000)
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE bounces_bounce")
        cursor.execute("ANALYZE suppressions_suppression")


def test_each_side_reads_its_created_index_after_a_cursor(client, analyzed):
    query = client.get("/suppressions/?per_page=25").context["table"].page.next_query
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/suppressions/?{query}")
    pages = [q["sql"] for q in queries if "LIMIT 26" in q["sql"]]
    assert len(pages) == 2  # a page of each side, merged
    plans = [explain(sql) for sql in pages]
    assert "bounce_created" in plans[0] + plans[1]
    assert "suppression_created" in plans[0] + plans[1]


def explain(sql: str) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def test_a_percent_search_uses_a_trigram_index_on_postgresql(analyzed):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no trigram index: the list walks suppression_created instead")
    smiths = make_subuser("smiths")
    for n in range(20):
        make_suppression(smiths, f"anna.smith{n}@example.com", "blocks")
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list('suppression_email_trgm'::regclass)")
        cursor.execute("ANALYZE suppressions_suppression")
    rows = Suppression.objects.filter(email__like_indexed="%smith%").order_by("-created", "-id")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        assert "suppression_email_trgm" in rows[:50].explain()
