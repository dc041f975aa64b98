"""`GET /api/v1/lookup/?email=`: one address over every visible subuser, in one call: entries,
removals, requests holding it, webhook events, and whether a removal may be requested."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bounceadmin.bounces.models import Bounce
from bounceadmin.deletions.models import DeletionItem, DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_user, make_webhook_event

from .v1_support import bearer_for

pytestmark = pytest.mark.django_db
PAT = "pat@example.com"


def make_request(bounce, *, by, state, item_state, error="", pushed=False):
    request = DeletionRequest.objects.create(
        subuser=bounce.subuser, batch=uuid.uuid4(), requested_by=by, justification="fixed",
        ticket="T-1", state=state, total=1,
    )  # fmt: skip
    item = DeletionItem.objects.create(
        request=request, bounce=bounce, email=bounce.email, state=item_state, error=error,
        pushed_at=timezone.now() - timedelta(hours=1) if pushed else None,
    )  # fmt: skip
    return request, item


@pytest.fixture
def world():
    """pat@ is on acme's list again after a removal (a repeat), was removed from beta's, is held
    by a pending request on gamma's, and not on delta's; acme dropped two sends for it."""
    acme, beta, gamma, delta = (make_subuser(n) for n in ("acme", "beta", "gamma", "delta"))
    rita = make_user("rita", role="requester")
    on_acme = make_bounce(acme, PAT)
    done, item = make_request(
        on_acme, by=rita, state=DeletionRequest.State.DONE, item_state="done", pushed=True
    )
    Bounce.objects.filter(pk=on_acme.pk).update(repeat_of=item)
    on_beta = make_bounce(beta, PAT, removed=True)
    beta_done, _ = make_request(
        on_beta, by=rita, state=DeletionRequest.State.DONE, item_state="done", pushed=True
    )
    on_gamma = make_bounce(gamma, PAT, status="4.2.2", reason="452 4.2.2 Mailbox full")
    failed, _ = make_request(
        on_gamma, by=rita, state=DeletionRequest.State.PARTLY_FAILED, item_state="failed",
        error="SendGrid said 500",
    )  # fmt: skip
    pending, _ = make_request(
        on_gamma, by=rita, state=DeletionRequest.State.PENDING, item_state="pending"
    )
    make_bounce(acme, "other@example.com")
    for _ in range(2):
        make_webhook_event(acme, PAT, event="dropped", reason="Bounced Address")
    make_webhook_event(acme, PAT, event="bounce", type="bounce", status="5.1.1")
    make_webhook_event(beta, PAT, event="dropped", reason="Spam Content (if enabled)")
    make_webhook_event(delta, PAT, event="delivered")
    make_webhook_event(acme, "other@example.com", event="dropped", reason="Bounced Address")
    return {
        "subusers": (acme, beta, gamma, delta), "done": done, "beta_done": beta_done,
        "failed": failed, "pending": pending, "rita": rita,
    }  # fmt: skip


def lookup(client, user, email=PAT, **headers):
    return client.get("/api/v1/lookup/", {"email": email}, **(headers or bearer_for(user)))


def test_lookup_answers_why_and_what_was_done(client, world):
    body = lookup(client, make_user("vera", role="viewer"), "Pat@Example.COM").json()
    assert body["email"] == PAT and body["suppressed"] is True
    entries = {e["subuser"]: e for e in body["entries"]}
    assert set(entries) == {"acme", "beta", "gamma"}
    acme, beta, gamma = entries["acme"], entries["beta"], entries["gamma"]
    assert acme["repeat"] is True and acme["repeat_of"] == world["done"].pk
    assert acme["removed_at"] is None and beta["removed_at"] is not None
    assert acme["classification"] == "Invalid Address" and acme["fault"] == "recipient"
    assert gamma["classification"] == "Mailbox Unavailable"
    assert acme["drops"] == 2 and acme["last_drop"] and beta["drops"] == 0
    assert gamma["pending_requests"] == [world["pending"].pk] and acme["pending_requests"] == []
    removals = {(r["request"], r["state"], r["subuser"]) for r in body["removals"]}
    assert removals == {
        (world["done"].pk, "done", "acme"), (world["beta_done"].pk, "done", "beta"),
        (world["failed"].pk, "failed", "gamma"),
    }  # fmt: skip
    failed = next(r for r in body["removals"] if r["state"] == "failed")
    assert failed["error"] == "SendGrid said 500" and failed["requested_by"] == "rita"
    assert [(r["id"], r["subuser"], r["state"]) for r in body["pending_requests"]] == [
        (world["pending"].pk, "gamma", "pending")
    ]
    events = body["webhook_events"]
    assert len(events) == 5 and {e["subuser"] for e in events} == {"acme", "beta", "delta"}
    suppressed = [e for e in events if e["suppressed_by"]]
    assert len(suppressed) == 2 and suppressed[0]["suppressed_by"] == "the bounce list"
    assert all(not e["can_request_removal"] for e in body["entries"])  # a viewer


def test_lookup_says_which_entries_a_requester_may_ask_to_remove(client, world):
    body = lookup(client, make_user("rex", role="requester")).json()
    may = {e["subuser"]: e["can_request_removal"] for e in body["entries"]}
    assert may == {"acme": True, "beta": False, "gamma": False}


def test_lookup_of_an_address_nowhere_is_empty_not_404(client, world):
    body = lookup(client, make_user("vera", role="viewer"), "nobody@example.com").json()
    assert body["suppressed"] is False
    assert body["entries"] == body["removals"] == body["pending_requests"] == []
    assert body["webhook_events"] == []


def test_a_scoped_token_never_sees_another_subusers_lookup_entry(client, world):
    acme, beta, gamma, delta = world["subusers"]
    user = make_user("scoped", role="requester", subusers=[beta])
    body = lookup(client, user).json()
    assert [e["subuser"] for e in body["entries"]] == ["beta"]
    assert [r["subuser"] for r in body["removals"]] == ["beta"]
    assert body["pending_requests"] == []
    assert [e["subuser"] for e in body["webhook_events"]] == ["beta"]
    assert body["suppressed"] is False
    nothing = lookup(
        client, make_user("none", role="viewer", subusers=[delta]), "other@example.com"
    )
    assert nothing.json()["entries"] == [] and nothing.json()["webhook_events"] == []


@pytest.mark.parametrize(
    "query",
    [{}, {"email": ""}, {"email": "   "}, {"email": "not-an-address"}, {"email": "a b@x.test"},
     {"email": "@x.test"}, {"email": "pat@"}, {"email": "a" * 316 + "@x.test"}],
)  # fmt: skip
def test_lookup_without_a_valid_email_is_400(client, world, query):
    response = client.get("/api/v1/lookup/", query, **bearer_for(make_user("v", role="viewer")))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["email"] and errors[0]["message"]


def test_lookup_needs_a_role(client, world):
    assert lookup(client, make_user("norole", role=None)).status_code == 403
    assert client.get("/api/v1/lookup/", {"email": PAT}).status_code == 401


@pytest.mark.parametrize("scoped", [False, True])
def test_lookup_costs_the_same_queries_for_3_or_60_subusers(client, world, scoped):
    subusers = list(world["subusers"])

    def count() -> int:
        user = make_user(f"u{len(subusers)}", role="requester",
                         subusers=subusers if scoped else None)  # fmt: skip
        headers = bearer_for(user)
        with CaptureQueriesContext(connection) as queries:
            assert lookup(client, user, **headers).status_code == 200
        return len(queries)

    few = count()
    for n in range(56):
        sub = make_subuser(f"more{n}")
        subusers.append(sub)
        on = make_bounce(sub, PAT)
        make_request(on, by=world["rita"], state="done", item_state="done", pushed=True)
        make_webhook_event(sub, PAT, event="dropped", reason="Bounced Address")
    # Bounces and the other lists through the lookup page's selector (their entries and
    # histories), then removals, requests and events; the token and its throttle.
    assert count() == few <= 15, few
