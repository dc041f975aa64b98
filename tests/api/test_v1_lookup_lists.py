"""`GET /api/v1/lookup/` over every list: the bounce fields as before, the other lists' entries
with group and history, the page's verdict; scoped (the parent account's only when granted); a
fixed number of queries however many subusers and lists hold the address."""

import pytest
from django.utils import timezone

from bounceadmin.suppressions.models import SuppressionChange
from tests.support.factories import (
    make_bounce,
    make_group,
    make_subuser,
    make_suppression,
    make_user,
)

from .v1_support import bearer_for

pytestmark = pytest.mark.django_db
PAT = "pat@example.com"
BOUNCE_FIELDS = {"id", "subuser", "email", "status", "type", "classification", "fault", "reason",
                 "created", "first_seen", "last_seen", "removed_at", "repeat", "repeat_of",
                 "pending_requests", "drops", "last_drop", "can_request_removal"}  # fmt: skip


@pytest.fixture
def world():
    acme, globex = make_subuser("acme"), make_subuser("globex")
    parent = make_subuser("parent-login", is_parent=True)
    make_bounce(acme, PAT)
    block = make_suppression(acme, PAT, "blocks", status="4.0.0", reason="policy")
    SuppressionChange.objects.create(
        suppression=block, kind="changed", at=timezone.now(), old_reason="older policy"
    )
    make_suppression(acme, PAT, group=make_group(acme, "Newsletter", upstream_id=5))
    make_suppression(globex, PAT, "spam_reports", ip="10.0.0.1", removed=True)
    make_suppression(parent, PAT, "global_unsubscribes")
    return acme, globex, parent


def lookup(client, user, email=PAT):
    return client.get("/api/v1/lookup/", {"email": email}, **bearer_for(user))


def test_lookup_keeps_its_bounce_fields_and_adds_every_list(client, world):
    body = lookup(client, make_user("vera")).json()
    assert body["suppressed"] is True
    (bounce,) = body["entries"]
    assert set(bounce) >= BOUNCE_FIELDS and bounce["history"] == []
    others = [(e["list"], e["subuser"], e["active"]) for e in body["other_entries"]]
    assert others == [
        ("blocks", "acme", True), ("global_unsubscribes", "parent-login", True),
        ("group_unsubscribes", "acme", True), ("spam_reports", "globex", False),
    ]  # fmt: skip
    block = body["other_entries"][0]
    assert (block["status"], block["reason"]) == ("4.0.0", "policy")
    assert [(h["kind"], h["old_reason"]) for h in block["history"]] == [("changed", "older policy")]
    group = body["other_entries"][2]
    assert group["group"]["name"] == "Newsletter" and group["group"]["id"] == 5
    assert body["other_entries"][3]["ip"] == "10.0.0.1"
    verdict = body["verdict"]
    assert verdict["suppressed"] is True
    assert verdict["active_lists"] == ["bounces", "blocks", "global_unsubscribes",
                                       "group_unsubscribes"]  # fmt: skip
    assert verdict["active_subusers"] == ["acme", "parent-login"]
    assert (verdict["active_entries"], verdict["removed_entries"]) == (4, 1)
    assert verdict["summary"].startswith("Suppressed on 4 lists in 2 subusers")


def test_an_address_only_on_other_lists_is_suppressed_in_the_verdict(client, world):
    acme = world[0]
    make_suppression(acme, "only@x.test", "invalid_emails", reason="no such domain")
    body = lookup(client, make_user("vera"), "only@x.test").json()
    assert body["suppressed"] is False and body["entries"] == []  # no bounce, as before
    assert body["verdict"]["suppressed"] is True
    assert body["verdict"]["summary"].startswith("Suppressed on 1 list in 1 subuser")


def test_an_address_nowhere_says_when_the_lists_were_refreshed(client, world):
    body = lookup(client, make_user("vera"), "nobody@x.test").json()
    assert body["other_entries"] == [] and body["verdict"]["suppressed"] is False
    assert body["verdict"]["last_refreshed"] is None
    assert "last refreshed never" in body["verdict"]["summary"]


def test_a_scoped_token_sees_only_its_subusers_entries(client, world):
    acme, globex, parent = world
    body = lookup(client, make_user("scoped", subusers=[globex])).json()
    assert body["entries"] == []
    assert [(e["list"], e["subuser"]) for e in body["other_entries"]] == [
        ("spam_reports", "globex")
    ]
    assert body["verdict"]["suppressed"] is False and body["verdict"]["removed_entries"] == 1
    granted = lookup(client, make_user("granted", subusers=[parent])).json()
    assert [e["subuser"] for e in granted["other_entries"]] == ["parent-login"]


@pytest.mark.parametrize("email", ["a" * 316 + "@x.test", "no-at-sign", "a b@x.test"])
def test_a_bad_address_is_a_400(client, world, email):
    response = lookup(client, make_user("vera"), email)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["email"]


def test_nul_is_a_400_not_a_500(client, world):
    response = lookup(client, make_user("vera"), "a\x00b@x.test")
    assert response.status_code == 400 and response.json()["errors"][0]["message"]


@pytest.mark.parametrize("scoped", [False, True])
def test_lookup_queries_stay_fixed_with_many_subusers(
    client, world, scoped, django_assert_max_num_queries
):
    subusers = list(world)
    for n in range(40):
        sub = make_subuser(f"more{n}")
        subusers.append(sub)
        make_bounce(sub, PAT)
        row = make_suppression(sub, PAT, "blocks")
        SuppressionChange.objects.create(suppression=row, kind="changed", at=timezone.now())
        make_suppression(sub, PAT, group=make_group(sub))
    user = make_user("many", role="requester", subusers=subusers if scoped else None)
    headers = bearer_for(user)
    with django_assert_max_num_queries(16):
        body = client.get("/api/v1/lookup/", {"email": PAT}, **headers).json()
    assert len(body["entries"]) == 41 and len(body["other_entries"]) == 4 + 80


def test_a_request_on_another_list_does_not_hold_the_bounce(client, world):
    """A block's open removal request is listed (with its list) but leaves the bounce's own
    removal open to request."""
    from bounceadmin.deletions.other_lists import removal_request_create
    from bounceadmin.suppressions.models import Suppression

    acme = world[0]
    requester = make_user("rita", role="requester")
    block = Suppression.objects.filter(subuser=acme, list="blocks")
    (removal,) = removal_request_create(user=requester, entries=block, justification="fixed")
    body = lookup(client, requester).json()
    (bounce,) = body["entries"]
    assert bounce["pending_requests"] == [] and bounce["can_request_removal"] is True
    (pending,) = body["pending_requests"]
    assert (pending["id"], pending["list"], pending["group"]) == (removal.pk, "blocks", None)
