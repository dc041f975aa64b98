"""`GET /api/v1/bounces/` and `/api/v1/bounces/{id}/`: the list page's filters and sorts, the
same rows for the same query string, cursors that reach every match once, scoping, roles, and a
message per field for bad input."""

import random
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.bounces.classification import bounce_type, classify
from bounceadmin.bounces.models import Bounce, Subuser
from bounceadmin.deletions.models import DeletionItem, DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_user, make_webhook_event

from .v1_support import bearer_for, walk_api, walk_page

pytestmark = pytest.mark.django_db

REASONS = [
    ("5.1.1", "550 5.1.1 The email account that you tried to reach does not exist."),
    ("4.2.2", "452 4.2.2 Mailbox full, try again later"),
    ("5.7.1", "554 5.7.1 Client host [198.51.100.7] blocked using zen.spamhaus.org"),
    ("5.1.2", "550 5.1.2 Host or domain name not found"),
    ("5.0.0", "<script>alert('x')</script> 550 rejected & \"quoted\""),
]
DOMAINS = ["gmail.com", "example.org", "market-tree.net"]
ROWS = 1_203


@pytest.fixture(scope="module")
def cache(django_db_setup, django_db_blocker):
    """1,203 bounces over three subusers and 60 days, some removed, many sharing a time (ties
    the id must break); made once for the module."""
    with django_db_blocker.unblock():
        rng = random.Random(15)
        now = timezone.now().replace(microsecond=123456)
        subusers = [Subuser.objects.create(username=n) for n in ("alpha", "beta", "gamma")]
        rows = []
        for i in range(ROWS):
            status, reason = rng.choice(REASONS)
            classification, fault = classify(status, reason)
            created = now - timedelta(days=rng.randrange(60), hours=rng.choice([0, 5]))
            local = rng.choice(["sales", "info", "john.doe", "Max", "x"])
            rows.append(
                Bounce(
                    subuser=subusers[i % 3], email=f"{local}{i}@{rng.choice(DOMAINS)}".lower(),
                    status=status, reason=reason, created=created, type=bounce_type(status, reason),
                    classification=classification, fault=fault, first_seen=created,
                    last_seen=now, removed_at=now if rng.random() < 0.1 else None,
                )
            )  # fmt: skip
        Bounce.objects.bulk_create(rows)
        yield subusers
        Subuser.objects.all().delete()


def api_ids(client, headers, query: str, limit: int = 500) -> list[int]:
    rows = walk_api(client, f"/api/v1/bounces/?{query}&limit={limit}", headers)
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))
    return ids


QUERIES = [
    "",
    "subuser=alpha",
    "subuser=alpha&subuser=gamma",
    "email=john",
    "email=%25market",
    "email=INFO1%25@example.org",
    "type=soft",
    "type=hard",
    "status=5.7.1",
    "reason=mailbox+FULL",
    "classification=Invalid+Address&classification=Mailbox+Unavailable",
    "fault=recipient",
    "fault=sender",
    "start_date={ago20}",
    "end_date={ago20}",
    "start_date={ago30}&end_date={ago10}",
    "days=7",
    "removed=1",
    "removed=only",
    "sort=email",
    "sort=-email",
    "sort=created",
    "sort=-created&removed=1&subuser=beta",
    "sort=email&type=soft&days=30",
]


@pytest.mark.parametrize("query", QUERIES)
def test_bounces_match_the_list_page_for_the_same_query_string(client, cache, query):
    today = timezone.localdate()
    query = query.format(
        ago10=today - timedelta(10), ago20=today - timedelta(20), ago30=today - timedelta(30)
    )
    user = make_user("vera", role="viewer")
    client.force_login(user)
    expected = [b.pk for b in walk_page(client, "/bounces/", query)]
    assert api_ids(client, bearer_for(user), query) == expected
    if query not in ("", "removed=1", "sort=created"):
        total = Bounce.objects.filter(removed_at__isnull=True).count()
        assert 0 < len(expected) < total or "removed" in query or "sort" in query


def test_bounces_fields_are_the_lists_and_text_is_data(client, cache):
    user = make_user("vera", role="viewer")
    response = client.get("/api/v1/bounces/", {"reason": "script"}, **bearer_for(user))
    row = response.json()["results"][0]
    assert set(row) == {"id", "subuser", "email", "status", "type", "classification", "fault",
                        "reason", "created", "first_seen", "last_seen", "removed_at", "repeat",
                        "repeat_of"}  # fmt: skip
    assert row["reason"].startswith("<script>") and row["subuser"] in ("alpha", "beta", "gamma")
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("sort", ["-created", "email", "created", "-email"])
def test_bounces_cursor_reaches_every_row_once_in_order(client, cache, sort):
    user = make_user("vera", role="viewer")
    headers = bearer_for(user)
    ids = api_ids(client, headers, f"removed=1&sort={sort}", limit=100)
    expected = Bounce.objects.order_by(sort, f"{'-' if sort[0] == '-' else ''}id")
    assert len(ids) == ROWS
    assert ids == list(expected.values_list("pk", flat=True))


def test_bounces_previous_walks_back_over_the_same_pages(client, cache):
    headers = bearer_for(make_user("vera", role="viewer"))
    pages, url = [], "/api/v1/bounces/?sort=email&per_page=250&removed=1"
    while url:
        body = client.get(url, **headers).json()
        pages.append(([r["id"] for r in body["results"]], body["previous"]))
        url = body["next"]
    back, previous = [], pages[-1][1]
    while previous:
        body = client.get(previous, **headers).json()
        back.insert(0, [r["id"] for r in body["results"]])
        previous = body["previous"]
    assert back == [ids for ids, _ in pages[:-1]]


def test_bounces_first_and_deep_pages_cost_the_same_few_queries(
    client, cache, django_assert_max_num_queries
):
    headers = bearer_for(make_user("vera", role="viewer"))
    url = "/api/v1/bounces/?limit=100&removed=1"
    for _ in range(11):
        with django_assert_max_num_queries(8):
            body = client.get(url, **headers).json()
        url = body["next"]
    assert "after=" in url


def test_a_scoped_token_never_sees_another_subusers_bounce(client, cache):
    alpha, beta, _ = cache
    user = make_user("scoped", role="viewer", subusers=[alpha])
    headers = bearer_for(user)
    rows = walk_api(client, "/api/v1/bounces/?removed=1&limit=500", headers)
    assert {r["subuser"] for r in rows} == {"alpha"}
    assert len(rows) == Bounce.objects.filter(subuser=alpha).count()
    refused = client.get("/api/v1/bounces/?subuser=beta", **headers)
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "subuser"
    other = Bounce.objects.filter(subuser=beta).first()
    assert client.get(f"/api/v1/bounces/{other.pk}/", **headers).status_code == 404
    mine = Bounce.objects.filter(subuser=alpha).first()
    assert client.get(f"/api/v1/bounces/{mine.pk}/", **headers).status_code == 200


@pytest.mark.parametrize(
    "query, field",
    [
        ("type=bogus", "type"),
        ("classification=bogus", "classification"),
        ("fault=nobody", "fault"),
        ("start_date=2026-13-01", "start_date"),
        ("end_date=yesterday", "end_date"),
        ("days=0", "days"),
        ("days=abc", "days"),
        ("removed=maybe", "removed"),
        ("subuser=nobody", "subuser"),
        ("email=" + "a" * 321, "email"),
        ("status=" + "5" * 33, "status"),
        ("reason=" + "w" * 201, "reason"),
        ("sort=reason", "sort"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("per_page=many", "per_page"),
        ("after=not-a-cursor", "after"),
        ("before=eyJ4Ijox", "before"),
        ("days=99999999999999999999", "days"),
    ],
)
def test_bounces_bad_input_is_400_with_a_message_for_its_field(client, cache, query, field):
    headers = bearer_for(make_user("vera", role="viewer"))
    response = client.get(f"/api/v1/bounces/?{query}", **headers)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field] and errors[0]["message"]


def test_a_cursor_of_another_sort_is_refused(client, cache):
    headers = bearer_for(make_user("vera", role="viewer"))
    body = client.get("/api/v1/bounces/?limit=5", **headers).json()
    cursor = body["next"].split("after=")[1].split("&")[0]
    response = client.get(f"/api/v1/bounces/?sort=email&after={cursor}", **headers)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "after"


@pytest.mark.parametrize("path", ["/api/v1/bounces/", "/api/v1/bounces/1/"])
def test_bounces_need_a_role(client, path):
    response = client.get(path, **bearer_for(make_user("norole", role=None)))
    assert response.status_code == 403
    assert client.get(path).status_code == 401


def test_a_bounce_has_its_repeat_flag_and_timeline(client, django_assert_max_num_queries):
    acme = make_subuser("acme")
    rita = make_user("rita", role="requester")
    old = make_bounce(acme, "pat@example.com", removed=True)
    request = DeletionRequest.objects.create(
        subuser=acme, batch=uuid.uuid4(), requested_by=rita, justification="fixed <b>it</b>",
        state=DeletionRequest.State.DONE, total=1,
    )  # fmt: skip
    item = DeletionItem.objects.create(
        request=request, bounce=old, email=old.email, state=DeletionItem.State.DONE,
        pushed_at=timezone.now() - timedelta(minutes=30),
    )  # fmt: skip
    Bounce.objects.filter(pk=old.pk).update(removed_at=None, repeat_of=item)
    make_webhook_event(acme, "pat@example.com", event="dropped", reason="Bounced Address")
    headers = bearer_for(make_user("vera", role="viewer"))
    with django_assert_max_num_queries(20):
        response = client.get(f"/api/v1/bounces/{old.pk}/", **headers)
    body = response.json()
    assert body["repeat"] is True and body["repeat_of"] == request.pk
    assert body["classification"] == old.classification and body["fault"] == old.fault
    assert body["removed_at"] is None
    timeline = body["timeline"]
    assert timeline["drops"] == 1 and timeline["open_requests"] == []
    kinds = [e["kind"] for e in timeline["entries"]]
    assert "suppressed" in kinds and "requested" in kinds and "removed" in kinds
    requested = next(e for e in timeline["entries"] if e["kind"] == "requested")
    assert requested["quote"] == "fixed <b>it</b>" and requested["by"] == "rita"
    for missing in ("999999", "99999999999999999999"):
        response = client.get(f"/api/v1/bounces/{missing}/", **headers)
        assert response.status_code == 404 and response.json()["errors"][0]["message"]


def test_a_bounce_listed_says_what_it_repeats(client):
    acme = make_subuser("acme")
    bounce = make_bounce(acme, "pat@example.com")
    headers = bearer_for(make_user("vera", role="viewer"))
    response = client.get("/api/v1/bounces/?subuser=acme", **headers)
    assert response.json()["results"][0]["repeat"] is False
    assert response.json()["results"][0]["repeat_of"] is None
    assert response.json()["results"][0]["id"] == bounce.pk


def test_the_schema_documents_every_filter(client):
    client.force_login(make_user("vera", role="viewer"))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    names = {p["name"] for p in schema["paths"]["/api/v1/bounces/"]["get"]["parameters"]}
    assert names == {"subuser", "region", "email", "domain", "type", "status", "reason",
                     "classification", "fault", "start_date", "end_date", "days", "since",
                     "until", "removed", "sort", "limit", "per_page", "after",
                     "before"}  # fmt: skip
    assert "/api/v1/bounces/{id}/" in schema["paths"]
