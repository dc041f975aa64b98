"""`/sendgrid/v3/…`: SendGrid's bounce and subuser endpoints over the cache, in SendGrid's shapes
(checked against its OpenAPI files), scoped to the token, removals requested for four-eyes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.deletions.models import DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_user
from tests.support.openapi import SUBUSERS, SUPPRESSIONS

from .v3_support import call, emails, matches_spec, token, ts

pytestmark = pytest.mark.django_db

BOUNCES = "/sendgrid/v3/suppression/bounces"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def acme():
    return make_subuser("acme", email="ops@acme.example", sendgrid_id=101,
                        last_success_at=timezone.now() - timedelta(minutes=5))  # fmt: skip


@pytest.fixture
def beta():
    return make_subuser("beta", email="ops@beta.example", sendgrid_id=102,
                        last_success_at=timezone.now() - timedelta(hours=2))  # fmt: skip


@pytest.fixture
def data(acme, beta):
    """acme: five addresses an hour apart (newest a4), one removed; beta: one address."""
    for n in range(5):
        make_bounce(acme, f"a{n}@example.com", created=T0 + timedelta(hours=n))
    make_bounce(acme, "gone@example.com", created=T0 + timedelta(hours=9), removed=True)
    make_bounce(beta, "b0@example.com", created=T0 + timedelta(hours=2, minutes=30))


def test_the_list_is_sendgrids_shape_newest_first_active_only(client, data):
    response = call(client, "get", BOUNCES, token())
    assert emails(response) == ["a4@example.com", "a3@example.com", "b0@example.com",
                                "a2@example.com", "a1@example.com", "a0@example.com"]  # fmt: skip
    assert response.json()[0] == {
        "created": ts(T0 + timedelta(hours=4)), "email": "a4@example.com",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
        "status": "5.1.1",
    }  # fmt: skip
    matches_spec(SUPPRESSIONS, response)


def test_every_answer_carries_rate_limit_and_cache_age_headers(client, data, acme, beta):
    secret = token()
    first = call(client, "get", BOUNCES, secret)
    second = call(client, "get", BOUNCES, secret, behalf="acme")
    assert int(first["X-RateLimit-Limit"]) == 600
    assert int(first["X-RateLimit-Remaining"]) == 599
    assert int(second["X-RateLimit-Remaining"]) == 598
    assert 0 < int(first["X-RateLimit-Reset"]) - ts(timezone.now()) <= 61
    # the oldest refresh among the subusers answered: beta's without on-behalf-of, acme's with
    assert 2 * 3600 - 5 <= int(first["X-Cache-Age"]) <= 2 * 3600 + 60
    assert 300 - 5 <= int(second["X-Cache-Age"]) <= 300 + 60
    refreshed = datetime.fromisoformat(second["X-Cache-Refreshed-At"])
    assert abs(refreshed - acme.last_success_at) < timedelta(seconds=1)
    one = call(client, "get", f"{BOUNCES}/a1@example.com", secret, behalf="beta")
    assert one["X-Cache-Age"] and one["X-RateLimit-Limit"]
    beta.last_success_at = None
    beta.save()
    never = call(client, "get", BOUNCES, secret)
    assert never["X-Cache-Refreshed-At"] == "never" and not never.has_header("X-Cache-Age")


def test_on_behalf_of_narrows_to_one_subuser(client, data):
    assert emails(call(client, "get", BOUNCES, token(), behalf="beta")) == ["b0@example.com"]


@pytest.mark.parametrize("behalf", ["nobody", "beta", "account-id abc123", "x" * 500])
def test_a_bad_on_behalf_of_answers_as_sendgrid_does(client, data, acme, behalf):
    secret = token(subusers=[acme])  # beta exists but is not this token's
    for path in (BOUNCES, f"{BOUNCES}/b0@example.com"):
        response = call(client, "get", path, secret, behalf=behalf)
        assert response.status_code == 403
        assert response.json() == {"errors": [{"field": None, "message": "access forbidden"}]}


def test_a_scoped_token_never_sees_another_subusers_bounces(client, data, acme):
    secret = token(subusers=[acme])
    listed = emails(call(client, "get", BOUNCES, secret))
    assert listed and "b0@example.com" not in listed
    assert emails(call(client, "get", BOUNCES, secret, email="b")) == []
    assert emails(call(client, "get", f"{BOUNCES}/b0@example.com", secret)) == []
    assert emails(call(client, "get", BOUNCES, secret, behalf="acme", email="b")) == []


def test_limit_and_offset_page_through_everything(client, data):
    secret = token()
    pages = [emails(call(client, "get", BOUNCES, secret, limit=4, offset=o)) for o in (0, 4, 8)]
    assert [len(p) for p in pages] == [4, 2, 0]
    assert pages[0] + pages[1] == emails(call(client, "get", BOUNCES, secret))
    assert len(emails(call(client, "get", BOUNCES, secret, limit=500))) == 6
    assert len(emails(call(client, "get", BOUNCES, secret, limit="", offset=""))) == 6


def test_start_and_end_time_are_inclusive_unix_seconds(client, data):
    secret = token()
    start, end = ts(T0 + timedelta(hours=1)), ts(T0 + timedelta(hours=3))
    found = emails(call(client, "get", BOUNCES, secret, behalf="acme", start_time=start,
                        end_time=end))  # fmt: skip
    assert found == ["a3@example.com", "a2@example.com", "a1@example.com"]
    assert emails(call(client, "get", BOUNCES, secret, start_time=ts(T0 + timedelta(hours=4)))) == [
        "a4@example.com"
    ]
    assert len(emails(call(client, "get", BOUNCES, secret, end_time=ts(T0)))) == 1
    assert emails(call(client, "get", BOUNCES, secret, start_time=end, end_time=start)) == []
    last = 253402300799  # the last second of 9999: everything, no overflow
    assert len(emails(call(client, "get", BOUNCES, secret, start_time=0, end_time=last))) == 6
    assert emails(call(client, "get", BOUNCES, secret, start_time=last)) == []


def test_email_is_a_prefix_with_percent_as_wildcard(client, acme):
    for address in ("sales@example.com", "salesdept@example.com", "presales@example.com",
                    "market_tree@example.com", "marketxtree@example.com"):  # fmt: skip
        make_bounce(acme, address)
    secret = token()
    assert sorted(emails(call(client, "get", BOUNCES, secret, email="sales"))) == [
        "sales@example.com", "salesdept@example.com"]  # fmt: skip
    assert sorted(emails(call(client, "get", BOUNCES, secret, email="%sales"))) == [
        "presales@example.com", "sales@example.com", "salesdept@example.com"]  # fmt: skip
    assert emails(call(client, "get", BOUNCES, secret, email="market_")) == [
        "market_tree@example.com"
    ]
    assert len(emails(call(client, "get", BOUNCES, secret, email="%market%tree"))) == 2
    assert emails(call(client, "get", BOUNCES, secret, email="SALES@")) == ["sales@example.com"]


def test_one_address_is_an_array_of_its_active_bounces(client, data, beta):
    make_bounce(beta, "a1@example.com", created=T0)
    secret = token()
    response = call(client, "get", f"{BOUNCES}/A1@example.com", secret)
    assert emails(response) == ["a1@example.com", "a1@example.com"]
    matches_spec(SUPPRESSIONS, response)
    assert len(emails(call(client, "get", f"{BOUNCES}/a1@example.com", secret, behalf="acme"))) == 1
    missing = call(client, "get", f"{BOUNCES}/gone@example.com", secret)
    assert emails(missing) == []
    matches_spec(SUPPRESSIONS, missing)
    plus = call(client, "get", f"{BOUNCES}/a%2B1@example.com", secret)
    assert emails(plus) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "501"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "9" * 40}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "9" * 30}, "offset"),
        ({"start_time": "yesterday"}, "start_time"),
        ({"end_time": "1e9x"}, "end_time"),
        ({"start_time": "9" * 20}, "start_time"),
        ({"end_time": "-5"}, "end_time"),
        ({"email": "x" * 400}, "email"),
        ({"email": "a\x00b"}, None),
        ({"limit": "1\x00"}, None),
    ],
)
def test_bad_parameters_answer_sendgrid_shaped_400s(client, data, query, field):
    response = call(client, "get", BOUNCES, token(), **query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    errors = response.json()["errors"]
    assert errors and errors[0]["field"] == field and errors[0]["message"]


def test_bad_paths_and_headers_answer_400_or_403_never_500(client, data):
    secret = token()
    assert call(client, "get", f"{BOUNCES}/{'x' * 400}@example.com", secret).status_code == 400
    assert call(client, "get", f"{BOUNCES}/a%00b@example.com", secret).status_code == 400
    assert call(client, "get", BOUNCES, secret, behalf="ac\x00me").status_code == 403


@pytest.mark.parametrize("path", [BOUNCES, "/sendgrid/v3/subusers"])
def test_no_token_is_401_in_sendgrids_shape(client, data, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"]
    none = client.get(path, HTTP_AUTHORIZATION="Bearer ba_nope")
    assert none.status_code == 401


@pytest.mark.parametrize("path", [f"{BOUNCES}/", "/sendgrid/v3/blocks", "/sendgrid/"])
def test_other_paths_answer_sendgrids_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"errors": [{"field": None, "message": "resource not found"}]}


def test_answers_are_kept_from_shared_caches(client, data):
    assert call(client, "get", BOUNCES, token())["Cache-Control"] == "private, no-store"


def test_a_user_without_a_role_is_403(client, data):
    response = call(client, "get", BOUNCES, token(role=None))
    assert response.status_code == 403
    assert "viewer" in response.json()["errors"][0]["message"]


# --- removals ---------------------------------------------------------------------------------


def test_deleting_one_address_requests_its_removal_and_answers_202(client, data):
    secret = token(role="requester", name="nightly cleanup")
    response = call(client, "delete", f"{BOUNCES}/A1@example.com", secret, behalf="acme")
    assert response.status_code == 202, response.content
    removal = DeletionRequest.objects.get()
    assert response.json() == {
        "id": removal.pk, "state": "pending", "url": f"http://testserver/deletions/{removal.pk}/",
        "subuser": "acme", "total": 1,
    }  # fmt: skip
    assert response["Location"] == response.json()["url"]
    assert response["X-RateLimit-Limit"]
    assert removal.state == DeletionRequest.State.PENDING and removal.subuser.username == "acme"
    assert removal.justification == (
        "Requested through the SendGrid-compatible API by token nightly cleanup"
    )
    assert list(removal.items.values_list("email", flat=True)) == ["a1@example.com"]
    event = AuditEvent.objects.get(action=AuditEvent.Action.DELETION_REQUESTED)
    assert event.details["api_token"] == "nightly cleanup" and event.actor_name == "vera"
    assert event.addresses == ["a1@example.com"]
    # nothing is removed until an approver approves
    listed = emails(call(client, "get", f"{BOUNCES}/a1@example.com", secret, behalf="acme"))
    assert listed == ["a1@example.com"]


def test_deleting_listed_addresses_requests_them_with_the_given_justification(client, data):
    secret = token(role="requester")
    body = {"emails": ["a0@example.com", "a2@example.com", "nobody@example.com"]}
    why = "Customer fixed their DNS (TICKET-9, Zoë)"
    headers = {"X-Justification": why.encode().decode("latin-1"), "X-Ticket": "TICKET-9"}
    response = call(client, "delete", BOUNCES, secret, body, behalf="acme", headers=headers)
    assert response.status_code == 202, response.content
    removal = DeletionRequest.objects.get(pk=response.json()["id"])
    assert removal.justification == why
    assert removal.ticket == "TICKET-9" and removal.total == 2
    assert sorted(removal.items.values_list("email", flat=True)) == [
        "a0@example.com", "a2@example.com"]  # fmt: skip


def test_delete_all_is_refused_explaining_why(client, data):
    secret = token(role="admin")
    for body in ({"delete_all": True}, {"delete_all": True, "emails": ["a0@example.com"]}):
        response = call(client, "delete", BOUNCES, secret, body, behalf="acme")
        assert response.status_code == 400
        error = response.json()["errors"][0]
        assert error["field"] == "delete_all"
    assert "dashboard" in call(client, "delete", BOUNCES, secret, {"delete_all": True},
                               behalf="acme").json()["errors"][0]["message"]  # fmt: skip
    assert not DeletionRequest.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, "emails"),
        ({}, "emails"),
        ({"emails": []}, "emails"),
        ({"emails": "a0@example.com"}, "emails"),
        ({"emails": [1, None]}, "emails"),
        ({"emails": ["x" * 400]}, "emails"),
        ({"emails": ["a\x00b"]}, "emails"),
        (["a0@example.com"], ""),
    ],
)
def test_bad_delete_bodies_answer_400(client, data, body, field):
    response = call(client, "delete", BOUNCES, token(role="requester"), body, behalf="acme")
    assert response.status_code == 400
    assert (response.json()["errors"][0]["field"] or "").startswith(field)
    assert not DeletionRequest.objects.exists()


def test_a_token_seeing_several_subusers_must_name_one_to_delete(client, data, acme):
    response = call(client, "delete", f"{BOUNCES}/a1@example.com", token(role="requester"))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "on-behalf-of" and "on-behalf-of" in error["message"]
    scoped = token("solo", role="requester", subusers=[acme])
    assert call(client, "delete", f"{BOUNCES}/a1@example.com", scoped).status_code == 202


def test_deleting_needs_the_requester_role_and_the_scope(client, data, acme):
    viewer = call(client, "delete", f"{BOUNCES}/a1@example.com", token(), behalf="acme")
    assert viewer.status_code == 403 and "requester" in viewer.json()["errors"][0]["message"]
    scoped = token("solo", role="approver", subusers=[acme])
    other = call(client, "delete", f"{BOUNCES}/b0@example.com", scoped, behalf="beta")
    assert other.status_code == 403
    assert (
        call(client, "delete", BOUNCES, scoped, {"emails": ["b0@example.com"]}).status_code == 404
    )
    assert not DeletionRequest.objects.exists()


def test_an_address_not_listed_or_already_requested_is_not_requested_twice(client, data):
    secret = token(role="requester")
    missing = call(client, "delete", f"{BOUNCES}/gone@example.com", secret, behalf="acme")
    assert missing.status_code == 404
    assert missing.json()["errors"] == [{"field": "email", "message": "email does not exist"}]
    first = call(client, "delete", f"{BOUNCES}/a1@example.com", secret, behalf="acme")
    again = call(client, "delete", f"{BOUNCES}/a1@example.com", secret, behalf="acme")
    assert first.status_code == 202 and again.status_code == 409
    assert f"#{first.json()['id']}" in again.json()["errors"][0]["message"]
    assert DeletionRequest.objects.count() == 1


def test_a_large_request_needs_the_typed_confirmation(client, data, settings):
    settings.DELETION_CONFIRM_THRESHOLD = 2
    secret = token(role="requester")
    body = {"emails": ["a0@example.com", "a1@example.com", "a2@example.com"]}
    refused = call(client, "delete", BOUNCES, secret, body, behalf="acme")
    assert refused.status_code == 400
    error = refused.json()["errors"][0]
    assert error["field"] == "X-Confirmation" and "X-Confirmation: delete 3" in error["message"]
    confirmed = call(client, "delete", BOUNCES, secret, body, behalf="acme",
                     headers={"X-Confirmation": "delete 3"})  # fmt: skip
    assert confirmed.status_code == 202


# --- subusers ---------------------------------------------------------------------------------


def test_subusers_lists_those_the_token_may_see_in_sendgrids_shape(client, acme, beta):
    make_subuser("(parent account)", is_parent=True)  # cached beside them, but no subuser
    response = call(client, "get", "/sendgrid/v3/subusers", token())
    assert response.status_code == 200
    assert response.json() == [
        {"disabled": False, "email": "ops@acme.example", "id": 101, "username": "acme"},
        {"disabled": False, "email": "ops@beta.example", "id": 102, "username": "beta"},
    ]
    matches_spec(SUBUSERS, response)
    scoped = call(client, "get", "/sendgrid/v3/subusers", token("solo", subusers=[beta]))
    assert [s["username"] for s in scoped.json()] == ["beta"]
    assert scoped["X-RateLimit-Remaining"]


def test_subusers_parameters(client, acme, beta):
    secret = token()
    path = "/sendgrid/v3/subusers"
    assert [s["username"] for s in call(client, "get", path, secret, limit=1, offset=1).json()] == [
        "beta"
    ]
    assert [s["username"] for s in call(client, "get", path, secret, username="acme").json()] == [
        "acme"
    ]
    regional = call(client, "get", path, secret, include_region="true")
    assert {s["region"] for s in regional.json()} == {"global"}
    matches_spec(SUBUSERS, regional, query={"include_region": "true"})
    assert call(client, "get", path, secret, region="eu").json() == []
    for bad in ({"limit": "0"}, {"offset": "-1"}, {"region": "mars"}):
        response = call(client, "get", path, secret, **bad)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == next(iter(bad))


def test_a_throttled_token_gets_429_with_rate_limit_headers(client, data, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    # The class attribute the throttle reads its rate from (restored after the test).
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"token": "2/min"})
    secret = token()
    answers = [call(client, "get", BOUNCES, secret) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert answers[2]["X-RateLimit-Limit"] == "2" and int(answers[2]["Retry-After"]) > 0
    assert answers[2].json()["errors"][0]["message"]


def test_a_body_that_is_not_json_answers_400(client, data):
    response = client.generic(
        "DELETE", BOUNCES, b"{emails:", content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token(role='requester')}", HTTP_ON_BEHALF_OF="acme",
    )  # fmt: skip
    assert response.status_code == 400 and response.json()["errors"][0]["message"]


def test_the_served_schema_has_sendgrids_operations(client, data):
    client.force_login(make_user("reader"))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operations = {
        path: {method: op["operationId"] for method, op in ops.items()}
        for path, ops in schema["paths"].items()
        if path.startswith("/sendgrid/")
    }
    assert operations == {
        "/sendgrid/v3/suppression/bounces": {
            "get": "ListSuppressionBounces", "delete": "DeleteSuppressionBounces"},
        "/sendgrid/v3/suppression/bounces/{email}": {
            "get": "GetSuppressionBounces", "delete": "DeleteSuppressionBounce"},
        "/sendgrid/v3/suppression/blocks": {
            "get": "ListSuppressionBlock", "delete": "DeleteSuppressionBlocks"},
        "/sendgrid/v3/suppression/blocks/{email}": {
            "get": "GetSuppressionBlock", "delete": "DeleteSuppressionBlock"},
        "/sendgrid/v3/suppression/invalid_emails": {
            "get": "ListInvalidEmail", "delete": "DeleteInvalidEmails"},
        "/sendgrid/v3/suppression/invalid_emails/{email}": {
            "get": "GetInvalidEmail", "delete": "DeleteInvalidEmail"},
        "/sendgrid/v3/suppression/spam_reports": {
            "get": "ListSpamReport", "delete": "DeleteSpamReports"},
        "/sendgrid/v3/suppression/spam_reports/{email}": {
            "get": "GetSpamReport", "delete": "DeleteSpamReport"},
        "/sendgrid/v3/suppression/unsubscribes": {
            "get": "ListGlobalSuppression", "delete": "DeleteSuppressionUnsubscribes"},
        "/sendgrid/v3/subusers": {"get": "ListSubuser"},
    }  # fmt: skip
