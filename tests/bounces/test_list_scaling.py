"""What keeps the bounce list fast over a million cached rows: a capped count that says so, the
searches' and sorts' query plans using the indexes (also for a page deep in the list, after a
cursor), and the subuser filter's options written in one pass (the same markup as Django's own
widget)."""

import re
from datetime import timedelta

import pytest
from django import forms
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bounceadmin.bounces.filters import BounceFilter
from bounceadmin.bounces.models import Bounce, Subuser
from bounceadmin.bounces.views import BounceListView
from bounceadmin.listing import QuickSelectMultiple
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db

CAP = 30


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(BounceListView, "count_cap", CAP)


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


def count_label(response) -> str:
    return re.search(r'<p class="count".*?</p>', response.content.decode(), re.S).group(0)


def test_bounce_list_count_beyond_the_cap_says_more_than(client, small_cap):
    make_many(CAP + 15)
    client.force_login(make_user(role="requester"))

    response = client.get("/bounces/", {"per_page": 25})

    paginator = response.context["table"].paginator
    assert (paginator.count, paginator.capped, paginator.num_pages) == (CAP, True, 2)
    assert "<strong>More than 30</strong> bounces match" in count_label(response)
    assert "Request deletion of all (more than 30) matching" in response.content.decode()


def test_bounce_list_count_at_the_cap_is_exact(client, small_cap):
    make_many(CAP)
    client.force_login(make_user(role="requester"))

    response = client.get("/bounces/", {"per_page": 25})

    paginator = response.context["table"].paginator
    assert (paginator.count, paginator.capped) == (CAP, False)
    assert "<strong>30</strong> bounces match" in count_label(response)
    assert "Request deletion of all 30 matching" in response.content.decode()


def test_bounce_list_next_reaches_every_match_beyond_the_cap(client, small_cap):
    rows = make_many(CAP + 15)  # newest first: rows[i] is i minutes old
    client.force_login(make_user())

    first = client.get("/bounces/", {"per_page": 25})
    table = first.context["table"]
    second = client.get(f"/bounces/?{table.page.next_query}").context["table"]
    beyond = client.get("/bounces/", {"per_page": 25, "page": 3}).context["table"]

    # The numbers are the counted pages; Next goes on to the rows beyond them.
    assert [n for n, _ in table.page.numbers] == [1, 2]
    assert [b.pk for b in second.page.object_list.data] == [r.pk for r in rows[25:]]
    assert not second.page.has_next() and second.page.number == 2
    assert "Next pages through all of them" in count_label(first)
    # A number beyond the counted pages shows the last of them.
    assert beyond.page.number == 2


def test_bounce_list_count_is_one_limited_query(client, small_cap):
    make_many(CAP + 15)
    client.force_login(make_user())
    with CaptureQueriesContext(connection) as queries:
        client.get("/bounces/")

    # The bounces counted (the navigation counts open alerts in a query of its own).
    counts = [q["sql"] for q in queries
              if "COUNT(" in q["sql"].upper() and "bounces_bounce" in q["sql"]]  # fmt: skip
    assert len(counts) == 1 and f"LIMIT {CAP + 1}" in counts[0]


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


def analyze() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Rows that earlier tests inserted and rolled back stay in the trigram index's
            # pending list (VACUUM cannot run inside the test's transaction); the planner
            # counts every pending page against the index.
            cursor.execute("SELECT gin_clean_pending_list('bounce_email_trgm'::regclass)")
        cursor.execute("ANALYZE bounces_bounce")


def plan(queryset) -> str:
    analyze()
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

    found = plan(filtered({"email": email}))
    # Where the collation is C (as in the tests), PostgreSQL may use the address order's index
    # for a prefix too; under any other only bounce_email_pattern (text_pattern_ops) can serve it.
    assert "bounce_email_pattern" in found or "bounce_email_order" in found


def test_bounce_list_percent_search_uses_a_trigram_index_on_postgresql(analyzed):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no trigram index: the list walks bounce_created instead")
    make_many(20, email="anna.smith{}@example.com")

    assert "bounce_email_trgm" in plan(filtered({"email": "%smith"}))


def test_bounce_list_default_order_walks_the_created_index(analyzed):
    assert "bounce_created" in plan(filtered({}))


# The index that serves each sort, either way; on SQLite bounce_email_pattern ends with the rowid.
SORT_INDEXES = {
    "created": {"sqlite": "bounce_created", "postgresql": "bounce_created"},
    "email": {"sqlite": "bounce_email_pattern", "postgresql": "bounce_email_order"},
}


def page_query(client, url) -> str:
    """The SQL of the rows of the list page at `url` (the one query that reads 51 of them)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    [sql] = [q["sql"] for q in queries if re.search(r"LIMIT 51\b", q["sql"])]
    return sql


def plan_sql(sql: str) -> str:
    analyze()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.parametrize("sort", ["-created", "created", "email", "-email"])
def test_bounce_list_sorts_walk_an_index_at_any_depth(client, analyzed, sort):
    """The first page of each offered sort, and a page after a cursor (as deep in the list as
    any), read the sort's index in order: no sort of the matches, however many."""
    client.force_login(make_user())
    first = client.get("/bounces/", {"sort": sort}).context["table"].page

    for sql in (
        page_query(client, f"/bounces/?sort={sort}"),
        page_query(client, f"/bounces/?{first.next_query}"),
    ):
        found = plan_sql(sql)
        assert SORT_INDEXES[sort.lstrip("-")][connection.vendor] in found, found
        assert "TEMP B-TREE" not in found and "Sort" not in found, found


def test_bounce_list_prefix_search_finds_exactly_the_prefix(client):
    sub = make_subuser()
    for email in ["jo@x.test", "john@x.test", "johnny@x.test", "joho@x.test", "johm@x.test"]:
        make_bounce(sub, email)
    client.force_login(make_user())

    response = client.get("/bounces/", {"email": "JOHN"})

    listed = sorted(b.email for b in response.context["table"].page.object_list.data)
    assert listed == ["john@x.test", "johnny@x.test"]


def test_quick_select_multiple_is_djangos_markup():
    choices = [("a", "alpha"), ("<b>", "b & <b>"), ("c", "gamma")]

    def html(widget):
        markup = widget(choices=choices).render("subuser", ["<b>", "c"], {"id": "id_subuser"})
        return re.sub(r"\s+", " ", markup).replace("> <", "><")

    ours = html(QuickSelectMultiple)
    assert ours == html(forms.SelectMultiple)
    assert '<option value="&lt;b&gt;" selected>b &amp; &lt;b&gt;</option>' in ours
