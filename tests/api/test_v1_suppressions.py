"""`GET /api/v1/suppressions/` and `…/{id}/`: every list in one list endpoint, the all-lists
page's filters (same names, same rows), paged by cursor through both tables to every match,
scoped to the token's subusers (the parent account's only when granted), bad input a 400."""

import itertools
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from bounceadmin.bounces.models import Bounce
from bounceadmin.suppressions.models import Suppression, SuppressionChange
from tests.support.factories import (
    make_bounce,
    make_group,
    make_subuser,
    make_suppression,
    make_user,
)

from .v1_support import bearer_for, walk_api, walk_page

pytestmark = pytest.mark.django_db
URL = "/api/v1/suppressions/"
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def world():
    """Every list on acme, a few on globex and the parent account, a removed block."""
    acme, globex = make_subuser("acme"), make_subuser("globex")
    parent = make_subuser("parent-login", is_parent=True)
    make_bounce(acme, "hard@x.test", created=T0)
    make_bounce(acme, "full@x.test", status="4.2.2", reason="452 4.2.2 Mailbox full",
                created=T0 - timedelta(days=3))  # fmt: skip
    make_suppression(acme, "blocked@x.test", "blocks", status="4.0.0",
                     reason="550 blocked by policy", created=T0 - timedelta(days=1))  # fmt: skip
    make_suppression(acme, "typo@x.tset", "invalid_emails", reason="Mail domain unknown",
                     created=T0 - timedelta(days=2))  # fmt: skip
    make_suppression(acme, "angry@x.test", "spam_reports", ip="10.1.2.3",
                     created=T0 - timedelta(days=4))  # fmt: skip
    make_suppression(acme, "bye@x.test", "global_unsubscribes", created=T0 - timedelta(days=5))
    news = make_group(acme, "Newsletter", upstream_id=77)
    make_suppression(acme, "bye@x.test", group=news, created=T0 - timedelta(days=6))
    make_suppression(acme, "old@x.test", "blocks", created=T0 - timedelta(days=7), removed=True)
    make_suppression(globex, "g@x.test", "blocks", reason="globex only", created=T0)
    make_bounce(globex, "gb@x.test", created=T0)
    make_suppression(parent, "p@x.test", "spam_reports", ip="10.9.9.9", created=T0)
    return acme, globex, parent


_tokens = itertools.count()


def get(client, user, **query):
    return client.get(URL, query, **bearer_for(user, name=f"t{next(_tokens)}"))


def listed(response) -> list[tuple[str, str, str]]:
    assert response.status_code == 200, response.content
    return [(r["list"], r["subuser"], r["email"]) for r in response.json()["results"]]


def test_every_list_of_every_visible_subuser_newest_first(client, world):
    rows = get(client, make_user("vera"), limit=500).json()["results"]
    assert len(rows) == 11 - 1  # the removed block is hidden, as on the page
    assert [r["created"] for r in rows] == sorted((r["created"] for r in rows), reverse=True)
    assert {r["list"] for r in rows} == {
        "bounces", "blocks", "invalid_emails", "spam_reports", "global_unsubscribes",
        "group_unsubscribes",
    }  # fmt: skip
    group = next(r for r in rows if r["list"] == "group_unsubscribes")
    assert group["group"] == {"id": 77, "name": "Newsletter", "description": "",
                              "is_default": False, "removed": False}  # fmt: skip
    assert group["needs_consent"] is True and group["active"] is True
    spam = next(r for r in rows if r["email"] == "angry@x.test")
    assert spam["ip"] == "10.1.2.3" and spam["status"] == spam["classification"] == ""
    block = next(r for r in rows if r["email"] == "blocked@x.test")
    assert (block["status"], block["reason"], block["group"]) == ("4.0.0", "550 blocked by policy",
                                                                 None)  # fmt: skip
    parent = next(r for r in rows if r["subuser"] == "parent-login")
    assert parent["parent_account"] is True
    bounce = next(r for r in rows if r["email"] == "hard@x.test")
    assert bounce["classification"] == "Invalid Address" and bounce["url"].endswith(
        f"/api/v1/bounces/{Bounce.objects.get(email='hard@x.test').pk}/"
    )


@pytest.mark.parametrize(
    "query",
    [
        {}, {"list": "blocks"}, {"list": ["spam_reports", "group_unsubscribes"]},
        {"list": "bounces"}, {"subuser": "acme"}, {"subuser": ["acme", "parent-login"]},
        {"email": "bye"}, {"email": "%x.t"}, {"status": "4.0.0"}, {"reason": "blocked"},
        {"type": "hard"}, {"classification": "Mailbox Unavailable"}, {"fault": "recipient"},
        {"start_date": "2026-10-30"}, {"end_date": "2026-10-30"},
        {"start_date": "2026-10-29", "end_date": "2026-10-31"}, {"days": "3"},
        {"removed": "1"}, {"removed": "only"}, {"list": "blocks", "removed": "only"},
        {"list": "bounces", "subuser": "globex"},
    ],
)  # fmt: skip
def test_each_filter_lists_what_the_page_lists(client, world, query):
    user = make_user("vera")
    client.force_login(user)
    qs = urlencode(query, doseq=True)
    page = {(e.list, e.record.subuser.username, e.email)
            for e in walk_page(client, "/suppressions/", qs)}  # fmt: skip
    api = walk_api(client, f"{URL}?{qs}&limit=2", bearer_for(user))
    assert {(r["list"], r["subuser"], r["email"]) for r in api} == page
    assert len(api) == len(page)


def test_filters_narrow_as_they_say(client, world):
    user = make_user("vera")
    assert {r[0] for r in listed(get(client, user, list=["blocks", "invalid_emails"]))} == {
        "blocks", "invalid_emails"}  # fmt: skip
    assert listed(get(client, user, list="blocks", removed="only")) == [
        ("blocks", "acme", "old@x.test")
    ]
    assert {r[0] for r in listed(get(client, user, type="soft"))} == {"bounces"}
    assert listed(get(client, user, email="bye", list="group_unsubscribes")) == [
        ("group_unsubscribes", "acme", "bye@x.test")
    ]


def tied_world():
    """40 bounces and 40 other entries over two seconds: 20 of each table per second."""
    now = timezone.now().replace(microsecond=0)
    acme = make_subuser("acme")
    Bounce.objects.bulk_create(
        Bounce(subuser=acme, email=f"b{i:02d}@x.test", status="5.1.1", type="hard",
               created=now - timedelta(seconds=i % 2), first_seen=now, last_seen=now)
        for i in range(40)
    )  # fmt: skip
    Suppression.objects.bulk_create(
        Suppression(subuser=acme, email=f"s{i:02d}@x.test", list=("blocks", "spam_reports")[i % 2],
                    created=now - timedelta(seconds=i % 2), first_seen=now, last_seen=now)
        for i in range(40)
    )  # fmt: skip


@pytest.mark.parametrize("sort", ["-created", "created"])
def test_next_reaches_every_entry_once_in_order_through_ties(client, sort):
    tied_world()
    user = make_user("vera")
    rows = walk_api(client, f"{URL}?limit=7&sort={sort}", bearer_for(user))
    assert len(rows) == 80
    assert len({(r["list"] == "bounces", r["id"]) for r in rows}) == 80
    keys = [(r["created"], r["list"] == "bounces", r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=sort.startswith("-"))
    # The page's own order, row for row.
    client.force_login(user)
    page = walk_page(client, "/suppressions/", f"sort={sort}")
    assert [(e.list == "bounces", e.record.pk) for e in page] == [
        (r["list"] == "bounces", r["id"]) for r in rows
    ]


def test_previous_walks_back_to_the_first_page(client):
    tied_world()
    headers = bearer_for(make_user("vera"))
    first = client.get(f"{URL}?limit=9", **headers).json()
    second = client.get(first["next"], **headers).json()
    third = client.get(second["next"], **headers).json()
    back = client.get(third["previous"], **headers).json()
    assert back["results"] == second["results"]
    again = client.get(back["previous"], **headers).json()
    assert again["results"] == first["results"] and again["previous"] is None


def test_a_cursor_is_opaque_and_keeps_the_filters(client, world):
    headers = bearer_for(make_user("vera"))
    body = client.get(f"{URL}?list=blocks&list=spam_reports&limit=1", **headers).json()
    assert "created" not in body["next"] and "list=blocks" in body["next"]
    rest, url = [], body["next"]
    while url:
        page = client.get(url, **headers).json()
        rest, url = rest + page["results"], page["next"]
    assert {r["list"] for r in rest} == {"blocks", "spam_reports"} and len(rest) == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"after": "not-a-cursor"}, "after"), ({"before": "eyJ4Ijox"}, "before"),
        ({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"), ({"limit": "many"}, "limit"),
        ({"sort": "email"}, "sort"), ({"list": "bogus"}, "list"),
        ({"start_date": "2026-13-01"}, "start_date"), ({"end_date": "yesterday"}, "end_date"),
        ({"days": "0"}, "days"), ({"subuser": "nobody"}, "subuser"),
        ({"email": "a" * 400}, "email"), ({"type": "medium"}, "type"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_with_a_message_per_field(client, world, query, field):
    response = get(client, make_user("vera"), **query)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field] and errors[0]["message"]


def test_a_cursor_of_the_other_sort_or_of_bounces_is_a_400(client, world):
    headers = bearer_for(make_user("vera"))
    newest = client.get(f"{URL}?limit=1", **headers).json()["next"]
    token = newest.split("after=")[1].split("&")[0]
    assert client.get(f"{URL}?sort=created&after={token}", **headers).status_code == 400
    bounces = client.get("/api/v1/bounces/?limit=1", **headers).json()["next"]
    token = bounces.split("after=")[1].split("&")[0]
    assert client.get(f"{URL}?after={token}", **headers).status_code == 400


def test_nul_and_dates_no_calendar_has_are_400_not_500(client, world):
    headers = bearer_for(make_user("vera"))
    for query in ("email=a%00b", "start_date=0000-01-01", "end_date=9999-99-99",
                  "start_date=2026-02-30", "after=%00", "reason=%00"):  # fmt: skip
        assert client.get(f"{URL}?{query}", **headers).status_code == 400, query


def test_a_scoped_token_sees_only_its_subusers(client, world):
    acme, globex, parent = world
    user = make_user("scoped", subusers=[globex])
    rows = walk_api(client, f"{URL}?removed=1&limit=1", bearer_for(user))
    assert {r["subuser"] for r in rows} == {"globex"} and len(rows) == 2
    refused = get(client, user, subuser="parent-login")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "subuser"


def test_the_parent_account_only_when_granted(client, world):
    acme, globex, parent = world
    granted = make_user("granted", subusers=[acme, parent])
    seen = {r[1] for r in listed(get(client, granted, limit=500))}
    assert seen == {"acme", "parent-login"}


def test_it_needs_a_token_and_a_role(client, world):
    assert client.get(URL).status_code == 401
    assert get(client, make_user("norole", role=None)).status_code == 403


def test_query_count_does_not_grow_with_subusers_or_pages(client, django_assert_max_num_queries):
    tied_world()
    user = make_user("vera")
    headers = bearer_for(user)
    first = client.get(f"{URL}?limit=5", **headers).json()
    for n in range(30):
        sub = make_subuser(f"more{n}")
        make_suppression(sub, "x@x.test", group=make_group(sub))
    # The token, the role, the scope, the filters' subuser choices, then one query a table.
    with django_assert_max_num_queries(9):
        assert client.get(first["next"], **headers).status_code == 200
    with django_assert_max_num_queries(9):
        assert client.get(f"{URL}?limit=500&list=bounces&list=blocks", **headers).status_code == 200


# --- one entry ---------------------------------------------------------------------------------
def test_an_entry_with_its_group_and_history(client, world):
    row = Suppression.objects.get(list="group_unsubscribes")
    now = timezone.now()
    SuppressionChange.objects.create(suppression=row, kind="removed", at=now - timedelta(days=2))
    SuppressionChange.objects.create(suppression=row, kind="reappeared", at=now - timedelta(days=1))
    response = client.get(f"{URL}{row.pk}/", **bearer_for(make_user("vera")))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["list"], body["email"]) == (row.pk, "group_unsubscribes",
                                                         "bye@x.test")  # fmt: skip
    assert body["group"]["name"] == "Newsletter" and body["subuser"] == "acme"
    assert [h["kind"] for h in body["history"]] == ["reappeared", "removed"]
    assert body["history"][1]["kind_label"] == "Removed upstream"


def test_an_entry_of_another_subuser_or_the_parent_is_404(client, world):
    acme, globex, parent = world
    headers = bearer_for(make_user("scoped", subusers=[acme]))
    for email in ("g@x.test", "p@x.test"):
        row = Suppression.objects.get(email=email)
        response = client.get(f"{URL}{row.pk}/", **headers)
        assert response.status_code == 404
        assert response.json()["errors"][0]["message"]
    assert client.get(f"{URL}99999999999999999999/", **headers).status_code == 404
