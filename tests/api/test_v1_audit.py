"""`GET /api/v1/audit/`: the audit page's filters and scoping, newest first by cursor."""

import random
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.models import Subuser
from tests.support.factories import make_subuser, make_user

from .v1_support import bearer_for, walk_api

pytestmark = pytest.mark.django_db
ACTIONS = ["deletion.requested", "deletion.approved", "refresh.finished", "auth.login"]


@pytest.fixture
def events():
    """630 events over 40 days, three at each instant, of two subusers and of none."""
    make_subuser("alpha"), make_subuser("beta")
    rng = random.Random(15)
    now = timezone.now()
    times = [now - timedelta(hours=rng.randrange(40 * 24)) for _ in range(210)]
    instants = iter(t for t in times for _ in range(3))
    made = []
    for _ in range(630):
        made.append(
            AuditEvent(
                actor_name=rng.choice(["ann", "annette", "bob", ""]), action=rng.choice(ACTIONS),
                subuser=rng.choice(["alpha", "beta", ""]),
                addresses=rng.choice([[], ["pat@example.com"], ["Jo@Example.com", "x@y.test"]]),
                details=rng.choice([{}, {"note": "<b>bold</b> & \"quoted\""}]),
                source_ip=rng.choice([None, "192.0.2.7"]),
            )
        )  # fmt: skip
    with mock.patch("django.utils.timezone.now", side_effect=lambda: next(instants)):
        AuditEvent.objects.bulk_create(made)
    return made


QUERIES = [
    "",
    "actor=ann",
    "actor=BOB",
    "action=deletion.requested",
    "action=deletion.requested&action=auth.login",
    "subuser=alpha",
    "subuser=alpha&subuser=beta",
    "address=JO@example.com",
    "address=pat@example.com&subuser=beta",
    "start_date={ago10}",
    "end_date={ago10}",
    "start_date={ago20}&end_date={ago10}&actor=a",
]


def audit_page(client, query: str) -> list[int]:
    """What /audit/ lists for `query`, every page (offset pages, 500 a page)."""
    ids, number = [], 1
    while True:
        context = client.get(f"/audit/?{query}&per_page=500&page={number}").context
        assert not context["filter"].form.errors, context["filter"].form.errors
        page = context["table"].page
        ids += [event.pk for event in page.object_list.data]
        if not page.has_next():
            return ids
        number += 1


@pytest.mark.parametrize("query", QUERIES)
def test_audit_matches_the_audit_page_for_the_same_query_string(client, events, query):
    today = timezone.localdate()
    query = query.format(ago10=today - timedelta(10), ago20=today - timedelta(20))
    user = make_user("auditor", role="viewer")
    headers = bearer_for(user)  # recorded, before both read the log
    client.force_login(user)
    expected = audit_page(client, query)
    rows = walk_api(client, f"/api/v1/audit/?{query}&limit=500", headers)
    assert [r["id"] for r in rows] == expected
    assert len(expected) > 0
    if query:
        assert len(expected) < AuditEvent.objects.count()


def test_audit_pages_newest_first_through_every_event_once(client, events):
    headers = bearer_for(make_user("auditor", role="viewer"))
    rows = walk_api(client, "/api/v1/audit/?limit=100", headers)
    ids = [r["id"] for r in rows]
    assert ids == list(AuditEvent.objects.order_by("-at", "-id").values_list("pk", flat=True))
    oldest = walk_api(client, "/api/v1/audit/?limit=100&sort=at", headers)
    assert [r["id"] for r in oldest] == ids[::-1]


def test_audit_event_fields_are_the_pages(client, events):
    headers = bearer_for(make_user("auditor", role="viewer"))
    body = client.get("/api/v1/audit/?limit=500&subuser=alpha", **headers).json()
    row = next(r for r in body["results"] if r["details"])
    assert set(row) == {"id", "at", "actor", "action", "action_label", "subuser", "addresses",
                        "details", "source_ip", "deletion_request_id"}  # fmt: skip
    assert row["details"] == {"note": '<b>bold</b> & "quoted"'}
    system = next(r for r in body["results"] if r["actor"] is None)
    assert system["action_label"] == dict(AuditEvent.Action.choices)[system["action"]]


def test_a_scoped_token_never_sees_another_subusers_audit_event(client, events):
    user = make_user("scoped", role="viewer", subusers=[Subuser.objects.get(username="alpha")])
    headers = bearer_for(user)
    rows = walk_api(client, "/api/v1/audit/?limit=500", headers)
    assert {r["subuser"] for r in rows} == {"alpha"}
    assert len(rows) == AuditEvent.objects.filter(subuser="alpha").count()
    refused = client.get("/api/v1/audit/?subuser=beta", **headers)
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "subuser"


@pytest.mark.parametrize(
    "query, field",
    [
        ("action=nothing", "action"),
        ("subuser=nobody", "subuser"),
        ("start_date=2026-02-30", "start_date"),
        ("end_date=soon", "end_date"),
        ("actor=" + "a" * 151, "actor"),
        ("address=" + "a" * 321, "address"),
        ("sort=actor_name", "sort"),
        ("limit=1000", "limit"),
        ("after=xyz", "after"),
    ],
)
def test_audit_bad_input_is_400_with_a_message_for_its_field(client, events, query, field):
    response = client.get(f"/api/v1/audit/?{query}", **bearer_for(make_user("v", role="viewer")))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field] and errors[0]["message"]


def test_audit_pages_cost_the_same_few_queries(client, events, django_assert_max_num_queries):
    headers = bearer_for(make_user("auditor", role="viewer"))
    url = "/api/v1/audit/?limit=50&address=pat@example.com"
    for _ in range(3):
        with django_assert_max_num_queries(8):
            url = client.get(url, **headers).json()["next"]


def test_audit_needs_a_role(client):
    assert client.get("/api/v1/audit/", **bearer_for(make_user("n", role=None))).status_code == 403
    assert client.get("/api/v1/audit/").status_code == 401
