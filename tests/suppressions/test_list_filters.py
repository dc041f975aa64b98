"""/suppressions/: every list in one table, with /bounces/'s filters where they apply."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.factories import (
    make_bounce,
    make_group,
    make_subuser,
    make_suppression,
    make_user,
)

from .support import errors, listed

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(client):
    client.force_login(make_user())
    now = timezone.now()
    acme, globex = make_subuser("acme"), make_subuser("globex")
    make_bounce(acme, "pat@example.com", created=now - timedelta(days=1))
    make_bounce(
        globex, "full@example.org", status="4.2.2", reason="452 4.2.2 Mailbox full",
        created=now - timedelta(days=10),
    )  # fmt: skip
    make_bounce(acme, "gone@example.com", removed=True)
    make_suppression(
        acme, "pat@example.com", "blocks", status="550", reason="550 blocked by policy",
        created=now - timedelta(days=2),
    )  # fmt: skip
    make_suppression(globex, "spam@example.net", "spam_reports", ip="10.0.0.1",
                     created=now - timedelta(days=20))  # fmt: skip
    make_suppression(acme, "pat@example.com", group=make_group(acme, "News"))
    make_suppression(globex, "left@example.com", "global_unsubscribes", removed=True)
    make_suppression(acme, "bad@example.com", "invalid_emails", reason="Mail domain mentioned")
    return now


def test_list_shows_every_active_entry_of_every_list(client, data):
    assert listed(client.get("/suppressions/")) == {
        ("bounces", "acme", "pat@example.com"),
        ("bounces", "globex", "full@example.org"),
        ("blocks", "acme", "pat@example.com"),
        ("spam_reports", "globex", "spam@example.net"),
        ("group_unsubscribes", "acme", "pat@example.com"),
        ("invalid_emails", "acme", "bad@example.com"),
    }


def test_list_filter_is_repeatable(client, data):
    only_bounces = listed(client.get("/suppressions/?list=bounces"))
    assert {e[0] for e in only_bounces} == {"bounces"} and len(only_bounces) == 2
    two = listed(client.get("/suppressions/?list=bounces&list=spam_reports"))
    assert {e[0] for e in two} == {"bounces", "spam_reports"} and len(two) == 3
    assert listed(client.get("/suppressions/?list=blocks")) == {
        ("blocks", "acme", "pat@example.com")
    }
    assert "list" in errors(client.get("/suppressions/?list=nonsense"))


def test_list_subuser_and_email_filters(client, data):
    assert {e[1] for e in listed(client.get("/suppressions/?subuser=globex"))} == {"globex"}
    assert {e[2] for e in listed(client.get("/suppressions/?email=pat"))} == {"pat@example.com"}
    # % is a wildcard: "contains".
    assert {e[2] for e in listed(client.get("/suppressions/?email=%25example.org"))} == {
        "full@example.org"
    }


def test_list_date_filters(client, data):
    today = timezone.localdate()
    since = (today - timedelta(days=5)).isoformat()
    recent = listed(client.get(f"/suppressions/?start_date={since}"))
    assert ("bounces", "globex", "full@example.org") not in recent
    assert ("blocks", "acme", "pat@example.com") in recent
    until = (today - timedelta(days=5)).isoformat()
    old = listed(client.get(f"/suppressions/?end_date={until}"))
    assert old == {
        ("bounces", "globex", "full@example.org"),
        ("spam_reports", "globex", "spam@example.net"),
    }
    assert len(listed(client.get("/suppressions/?days=3"))) == 4


def test_list_reason_and_status_apply_where_the_list_has_them(client, data):
    assert listed(client.get("/suppressions/?reason=blocked+policy")) == {
        ("blocks", "acme", "pat@example.com")
    }
    assert listed(client.get("/suppressions/?status=550")) == {
        ("blocks", "acme", "pat@example.com")
    }
    assert listed(client.get("/suppressions/?status=4.2.2")) == {
        ("bounces", "globex", "full@example.org")
    }


@pytest.mark.parametrize("query", ["type=soft", "classification=Mailbox+Unavailable",
                                   "fault=recipient"])  # fmt: skip
def test_list_bounce_only_filters_leave_the_other_lists_out(client, data, query):
    found = listed(client.get(f"/suppressions/?{query}"))
    assert found and {e[0] for e in found} == {"bounces"}


def test_list_bounce_only_filter_with_another_list_lists_nothing(client, data):
    assert listed(client.get("/suppressions/?type=hard&list=blocks")) == set()


def test_list_removed_filter(client, data):
    removed = listed(client.get("/suppressions/?removed=only"))
    assert removed == {
        ("bounces", "acme", "gone@example.com"),
        ("global_unsubscribes", "globex", "left@example.com"),
    }
    assert len(listed(client.get("/suppressions/?removed=1"))) == 8


def test_list_combined_filters(client, data):
    found = listed(client.get("/suppressions/?subuser=acme&email=pat&list=blocks&list=bounces"))
    assert found == {("bounces", "acme", "pat@example.com"), ("blocks", "acme", "pat@example.com")}


@pytest.mark.parametrize(
    "query",
    ["start_date=2026-13-45", "end_date=12/06/2026", "days=0", "days=abc", "per_page=7&page=-1",
     "after=garbage", "before=%FF%FE", "sort=reason", "subuser=someone-else"],
)  # fmt: skip
def test_list_bad_input_is_an_error_or_ignored_never_a_500(client, data, query):
    response = client.get(f"/suppressions/?{query}")
    assert response.status_code == 200


def test_list_bad_date_shows_its_error_and_lists_nothing(client, data):
    response = client.get("/suppressions/?start_date=2026-13-45")
    assert "start_date" in errors(response)
    assert "Enter a date as YYYY-MM-DD." in response.content.decode()


def test_list_nul_in_email_is_a_clear_400(client, data):
    response = client.get("/suppressions/?email=a%00b")
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_list_reason_text_is_escaped(client):
    client.force_login(make_user())
    make_suppression(make_subuser("acme"), "x@example.com", "blocks",
                     reason="<script>alert(1)</script>")  # fmt: skip
    html = client.get("/suppressions/").content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_list_rows_link_to_their_entry_pages(client, data):
    html = client.get("/suppressions/?email=pat").content.decode()
    assert 'href="/bounces/' in html and 'href="/suppressions/' in html


def test_bounce_list_is_unchanged_by_the_other_lists(client, data):
    response = client.get("/bounces/")
    assert {b.email for b in response.context["table"].page.object_list.data} == {
        "pat@example.com", "full@example.org",
    }  # fmt: skip
