"""Paging through a list sorted on any column shows every row exactly once, also when many rows
are equal in that column (one second's bounces, one actor's events). Without a total order,
PostgreSQL may order equal rows differently in each page's query. The bounce list's pages follow
cursors (Next, Previous) as well as numbers."""

import re
from datetime import timedelta
from html import unescape
from unittest import mock

import pytest
from django.http import QueryDict
from django.utils import timezone
from django.utils.html import escape

from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.models import Bounce
from bounceadmin.keyset import Cursor, cursor_token
from tests.support.factories import make_subuser, make_user

pytestmark = pytest.mark.django_db

ROWS = 240
PER_PAGE = 25


def walk(client, url, sort, key):
    seen, page = [], 1
    while True:
        response = client.get(url, {"sort": sort, "per_page": PER_PAGE, "page": page})
        table = response.context["table"]
        seen += [key(row) for row in table.page.object_list.data]
        if not table.page.has_next():
            return seen
        page += 1


def follow(client, first_url, link):
    """Each page's ids, from `first_url` on through the `link` ("next" or "previous") of each
    page, checking that the page shows the link it is followed by."""
    pages, url = [], first_url
    while True:
        response = client.get(url)
        page = response.context["table"].page
        pages.append([bounce.pk for bounce in page.object_list.data])
        query = page.next_query if link == "next" else page.previous_query
        if query is None:
            return pages, response
        assert f'href="?{escape(query)}" rel="{link[:4]}"' in response.content.decode()
        url = f"/bounces/?{query}"


@pytest.fixture
def equal_rows():
    """Rows alike in every sorted column: one second's bounces, each address in two subusers."""
    now = timezone.now().replace(microsecond=0)
    subusers = [make_subuser("alpha"), make_subuser("beta")]
    rows = Bounce.objects.bulk_create(
        Bounce(
            subuser=subusers[i % 2], email=f"u{i // 2}@x.test", status=["5.1.1", "4.2.2"][i % 2],
            reason="550 unknown", created=now, type=["hard", "soft"][i % 2],
            classification="Invalid Address", fault="recipient", first_seen=now, last_seen=now,
        )
        for i in range(ROWS)
    )  # fmt: skip
    # Rows updated in place move within the table, as a refresh moves them.
    Bounce.objects.filter(pk__in=[r.pk for r in rows[::7]]).update(last_seen=now)
    return rows


SORTS = ["-created", "created", "email", "-email"]


@pytest.mark.parametrize("sort", SORTS)
def test_bounce_list_pages_show_each_row_once(client, sort, equal_rows):
    client.force_login(make_user())

    seen = walk(client, "/bounces/", sort, key=lambda b: b.pk)

    assert sorted(seen) == sorted(r.pk for r in equal_rows)


@pytest.mark.parametrize("sort", SORTS)
def test_bounce_list_next_and_previous_show_each_row_once_in_order(client, sort, equal_rows):
    client.force_login(make_user())
    field = sort.lstrip("-")
    expected = sorted(equal_rows, key=lambda b: (getattr(b, field), b.pk))
    if sort.startswith("-"):
        expected.reverse()

    forward, last = follow(client, f"/bounces/?sort={sort}&per_page={PER_PAGE}", "next")
    backward, _ = follow(
        client, f"/bounces/?{last.context['table'].page.previous_query}", "previous"
    )

    assert [pk for page in forward for pk in page] == [b.pk for b in expected]
    assert [len(page) for page in forward] == [25] * 9 + [15]
    assert backward == forward[-2::-1]  # back to the first page, the same pages


def test_bounce_list_cursor_pages_say_which_rows_they_show(client, equal_rows):
    client.force_login(make_user())

    first = client.get("/bounces/", {"per_page": PER_PAGE}).context["table"].page
    second = client.get(f"/bounces/?{first.next_query}").context["table"].page
    third = client.get(f"/bounces/?{second.next_query}").context["table"].page

    assert (first.number, first.start_index(), first.end_index()) == (1, 1, 25)
    assert (third.number, third.start_index(), third.end_index()) == (3, 51, 75)
    # A cursor page is the numbered page it coincides with; "1" leads to the first page.
    assert [n for n, _ in third.numbers] == [1, 2, 3, 4, 5, None, 10]
    assert dict(third.numbers)[1] == f"per_page={PER_PAGE}"
    assert dict(third.numbers)[4] == f"per_page={PER_PAGE}&page=4"


@pytest.mark.parametrize("sort", ["-at", "actor_name", "-action", "subuser", "source_ip"])
def test_audit_list_pages_show_each_event_once(client, sort):
    now = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=now):
        events = AuditEvent.objects.bulk_create(
            AuditEvent(actor_name="ann", action="auth.login", subuser="alpha",
                       source_ip="192.0.2.1")
            for _ in range(ROWS)
        )  # fmt: skip
    user = make_user("auditor")
    client.force_login(user)

    seen = walk(client, "/audit/", sort, key=lambda e: e.pk)

    # Logging in recorded an event of its own.
    assert sorted(pk for pk in seen if pk in {e.pk for e in events}) == sorted(e.pk for e in events)
    assert len(seen) == len(set(seen))


def test_bounce_list_cursor_keeps_microseconds(client):
    """Rows a few microseconds apart: a cursor rounded to the millisecond would skip or repeat
    them."""
    now = timezone.now().replace(microsecond=0)
    sub = make_subuser()
    rows = Bounce.objects.bulk_create(
        Bounce(
            subuser=sub, email=f"u{i}@x.test", status="5.1.1", reason="550 unknown",
            created=now + timedelta(microseconds=i // 2 * 7), type="hard",
            classification="Invalid Address", fault="recipient", first_seen=now, last_seen=now,
        )
        for i in range(60)
    )  # fmt: skip
    client.force_login(make_user())

    pages, _ = follow(client, "/bounces/?per_page=25", "next")

    expected = sorted(rows, key=lambda b: (b.created, b.pk), reverse=True)
    assert [pk for page in pages for pk in page] == [b.pk for b in expected]


def test_bounce_list_links_keep_the_view_and_drop_the_cursor_where_it_ends(client, equal_rows):
    """Next and Previous keep the filters, sort and page size; a new sort, a new filter, the
    exports and a request of every match start from the whole selection; the way back from a
    deletion request returns to this very page."""
    client.force_login(make_user("rita", role="requester"))
    query = "subuser=alpha&sort=email&per_page=25"
    first = client.get(f"/bounces/?{query}").context["table"].page

    response = client.get(f"/bounces/?{first.next_query}")
    html = response.content.decode()
    page = response.context["table"].page

    assert first.next_query.startswith(query + "&after=")
    assert page.previous_query.startswith(query + "&before=")
    assert f'name="back" value="{escape(first.next_query)}"' in html
    exports = re.findall(r'href="(/bounces/export\.csv[^"]*)"', html)
    requests = re.findall(r'href="(/deletions/new/\?scope=filter[^"]*)"', html)
    sorts = re.findall(r'<th [^>]*><a href="\?([^"]*)"', html)
    for href in exports + requests + sorts:
        keys = set(QueryDict(unescape(href.split("?", 1)[-1])))
        assert not keys & {"after", "before", "page"}, href
        assert "subuser" in keys, href
    assert [QueryDict(unescape(href))["sort"] for href in sorts] == ["-email", "created"]
    assert 'name="after"' not in html  # the filter form starts over


def test_bounce_list_cursor_past_the_end_shows_the_last_page(client, equal_rows):
    """A cursor after the last row (its rows went since): the last page, without a position."""
    client.force_login(make_user())
    past = cursor_token(Cursor("email", "zzz@x.test", 1, 5001))

    response = client.get("/bounces/", {"sort": "email", "per_page": PER_PAGE, "after": past})

    page = response.context["table"].page
    by_address = sorted(equal_rows, key=lambda b: (b.email, b.pk))
    assert [b.pk for b in page.object_list.data] == [b.pk for b in by_address[-PER_PAGE:]]
    assert not page.has_next() and page.has_previous() and page.position is None
    assert 'class="rows"' not in response.content.decode()
