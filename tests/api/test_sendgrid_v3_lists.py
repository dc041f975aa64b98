"""`/sendgrid/v3/suppression/{blocks,invalid_emails,spam_reports,unsubscribes}`: SendGrid's reads
of the other lists, from the cache, as the bounce reads answer (on-behalf-of, limit, offset,
start_time, end_time, email, headers, errors), each list in its own SendGrid shape (checked
against SendGrid's OpenAPI file). A DELETE of blocks or invalid emails requests their removal
(202), of spam reports and unsubscribes is refused with a message; never a bare 405 or 500."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from bounceadmin.deletions.models import DeletionRequest
from bounceadmin.suppressions.models import SuppressionListState
from tests.support.factories import make_group, make_subuser, make_suppression
from tests.support.openapi import SUPPRESSIONS

from .v3_support import call, emails, matches_spec, token, ts

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
V3 = "/sendgrid/v3/suppression"
# path: (the cached list, its entry's fields in SendGrid's shape, what a cached entry carries)
LISTS = {
    "blocks": ("blocks", {"created", "email", "reason", "status"},
               {"status": "4.0.0", "reason": "550 blocked"}),
    "invalid_emails": ("invalid_emails", {"created", "email", "reason"},
                       {"reason": "Mail domain mentioned in email address is unknown"}),
    "spam_reports": ("spam_reports", {"created", "email", "ip"}, {"ip": "10.63.202.100"}),
    "unsubscribes": ("global_unsubscribes", {"created", "email"}, {}),
}  # fmt: skip
ONE_ADDRESS = ["blocks", "invalid_emails", "spam_reports"]


@pytest.fixture
def subusers():
    acme = make_subuser("acme", email="ops@acme.example")
    beta = make_subuser("beta")
    parent = make_subuser("parent-login", is_parent=True)
    return acme, beta, parent


@pytest.fixture
def data(subusers):
    """Each list: acme five addresses an hour apart (newest a4), one removed; beta one; the
    parent account one; and on every other list one address of acme, so lists never mix."""
    acme, beta, parent = subusers
    for name, (cached, _fields, extra) in LISTS.items():
        for n in range(5):
            make_suppression(acme, f"{name}-a{n}@example.com", cached, created=T0 + timedelta(
                hours=n), **extra)  # fmt: skip
        make_suppression(acme, f"{name}-gone@example.com", cached, removed=True, **extra,
                         created=T0 + timedelta(hours=9))  # fmt: skip
        make_suppression(beta, f"{name}-b0@example.com", cached, **extra,
                         created=T0 + timedelta(hours=2, minutes=30))  # fmt: skip
        make_suppression(parent, f"{name}-p@example.com", cached, **extra,
                         created=T0 - timedelta(hours=1))  # fmt: skip
    make_suppression(acme, "grouped@example.com", group=make_group(acme))


@pytest.mark.parametrize("name", LISTS)
def test_each_list_in_its_own_shape_newest_first_active_only(client, data, name):
    cached, fields, extra = LISTS[name]
    response = call(client, "get", f"{V3}/{name}", token())
    assert emails(response) == [f"{name}-{e}@example.com" for e in ("a4", "a3", "b0", "a2", "a1",
                                                                     "a0", "p")]  # fmt: skip
    first = response.json()[0]
    assert set(first) == fields and first["created"] == ts(T0 + timedelta(hours=4))
    assert {k: first[k] for k in extra} == extra
    matches_spec(SUPPRESSIONS, response)


@pytest.mark.parametrize("name", LISTS)
def test_each_list_pages_and_filters_as_bounces_do(client, data, name):
    secret = token()
    path = f"{V3}/{name}"
    everything = emails(call(client, "get", path, secret))
    pages = [emails(call(client, "get", path, secret, limit=3, offset=o)) for o in (0, 3, 6, 9)]
    assert [len(p) for p in pages] == [3, 3, 1, 0] and sum(pages, []) == everything
    start, end = ts(T0 + timedelta(hours=1)), ts(T0 + timedelta(hours=3))
    window = call(client, "get", path, secret, behalf="acme", start_time=start, end_time=end)
    assert emails(window) == [f"{name}-a{n}@example.com" for n in (3, 2, 1)]
    matches_spec(SUPPRESSIONS, window, query={"start_time": start, "end_time": end})
    assert emails(call(client, "get", path, secret, email=f"{name}-b")) == [
        f"{name}-b0@example.com"
    ]
    assert len(emails(call(client, "get", path, secret, email="%-a"))) == 5
    assert emails(call(client, "get", path, secret, behalf="beta")) == [f"{name}-b0@example.com"]


@pytest.mark.parametrize("name", ONE_ADDRESS)
def test_one_address_is_an_array_of_its_active_entries(client, data, name):
    secret = token()
    response = call(client, "get", f"{V3}/{name}/{name.upper()}-A1@example.com", secret)
    assert emails(response) == [f"{name}-a1@example.com"]
    matches_spec(SUPPRESSIONS, response)
    assert emails(call(client, "get", f"{V3}/{name}/{name}-gone@example.com", secret)) == []
    assert emails(call(client, "get", f"{V3}/{name}/{name}-a1@example.com", secret,
                       behalf="beta")) == []  # fmt: skip
    assert call(client, "get", f"{V3}/{name}/{'x' * 400}@x.test", secret).status_code == 400
    assert call(client, "get", f"{V3}/{name}/a%00b@x.test", secret).status_code == 400


def test_unsubscribes_has_no_one_address_read_as_upstream(client, data):
    response = call(client, "get", f"{V3}/unsubscribes/unsubscribes-a1@example.com", token())
    assert response.status_code == 404
    assert response.json() == {"errors": [{"field": None, "message": "resource not found"}]}


@pytest.mark.parametrize("name", LISTS)
def test_a_scoped_token_sees_neither_another_subuser_nor_the_parent(client, data, subusers,
                                                                     name):  # fmt: skip
    acme, beta, parent = subusers
    secret = token(subusers=[beta])
    assert emails(call(client, "get", f"{V3}/{name}", secret)) == [f"{name}-b0@example.com"]
    assert emails(call(client, "get", f"{V3}/{name}", secret, email=f"{name}-a")) == []
    for behalf in ("acme", "parent-login"):
        refused = call(client, "get", f"{V3}/{name}", secret, behalf=behalf)
        assert refused.status_code == 403
        assert refused.json() == {"errors": [{"field": None, "message": "access forbidden"}]}
    if name in ONE_ADDRESS:
        one = call(client, "get", f"{V3}/{name}/{name}-p@example.com", secret)
        assert emails(one) == []
    granted = token("granted", subusers=[parent])
    assert emails(call(client, "get", f"{V3}/{name}", granted)) == [f"{name}-p@example.com"]


@pytest.mark.parametrize("name", LISTS)
def test_headers_say_the_rate_and_this_lists_own_cache_age(client, data, subusers, name):
    acme, beta, parent = subusers
    cached = LISTS[name][0]
    secret = token()
    never = call(client, "get", f"{V3}/{name}", secret)
    assert never["X-Cache-Refreshed-At"] == "never" and int(never["X-RateLimit-Limit"]) == 600
    assert never["Cache-Control"] == "private, no-store"
    now = timezone.now()
    for sub, age in ((acme, 5), (beta, 120), (parent, 60)):
        SuppressionListState.objects.create(
            subuser=sub, list=cached, last_success_at=now - timedelta(minutes=age)
        )
    # Another list's refresh says nothing of this one.
    acme.last_success_at = now
    acme.save()
    answered = call(client, "get", f"{V3}/{name}", secret)
    assert 120 * 60 - 5 <= int(answered["X-Cache-Age"]) <= 120 * 60 + 60
    one = call(client, "get", f"{V3}/{name}", secret, behalf="acme")
    assert 5 * 60 - 5 <= int(one["X-Cache-Age"]) <= 5 * 60 + 60
    assert int(one["X-RateLimit-Remaining"]) == int(answered["X-RateLimit-Remaining"]) - 1


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "501"}, "limit"), ({"limit": "0"}, "limit"), ({"offset": "-1"}, "offset"),
        ({"start_time": "yesterday"}, "start_time"), ({"end_time": "9" * 20}, "end_time"),
        ({"email": "x" * 400}, "email"), ({"email": "a\x00b"}, None),
    ],
)  # fmt: skip
def test_bad_parameters_answer_sendgrid_shaped_400s(client, data, name, query, field):
    response = call(client, "get", f"{V3}/{name}", token(), **query)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors and errors[0]["field"] == field and errors[0]["message"]


@pytest.mark.parametrize("name", LISTS)
def test_no_token_is_401(client, name):
    response = client.get(f"{V3}/{name}")
    assert response.status_code == 401 and response.json()["errors"][0]["message"]


CONSENT = ["spam_reports", "unsubscribes"]
REMOVABLE = ["blocks", "invalid_emails"]


@pytest.mark.parametrize("name", CONSENT)
def test_a_delete_of_an_opt_out_is_refused_with_the_way_to_the_dashboard(client, data, name):
    secret = token("rex", role="admin")
    paths = [f"{V3}/{name}"] + ([f"{V3}/{name}/{name}-a1@example.com"] if name in ONE_ADDRESS
                                else [])  # fmt: skip
    for path in paths:
        for body in (None, {"emails": [f"{name}-a1@example.com"]}, {"delete_all": True}):
            response = call(client, "delete", path, secret, data=body, behalf="acme")
            assert response.status_code == 403, response.content
            (error,) = response.json()["errors"]
            assert "dashboard" in error["message"] and "consent" in error["message"]
            assert error["field"] is None
    assert emails(call(client, "get", f"{V3}/{name}", secret, behalf="acme"))  # nothing removed
    assert not DeletionRequest.objects.exists()
    viewer = call(client, "delete", f"{V3}/{name}", token())
    assert viewer.status_code == 403 and viewer.json()["errors"][0]["message"]


@pytest.mark.parametrize("name", REMOVABLE)
def test_deleting_blocks_and_invalid_emails_requests_their_removal(client, data, name):
    """As for bounces: 202 with the request, which waits for an approver; the list it removes
    from is the list the path names."""
    cached = LISTS[name][0]
    secret = token("rex", role="requester", name="nightly")
    one = call(client, "delete", f"{V3}/{name}/{name}-A1@example.com", secret, behalf="acme")
    assert one.status_code == 202, one.content
    removal = DeletionRequest.objects.get(pk=one.json()["id"])
    assert one.json() == {
        "id": removal.pk, "state": "pending", "url": f"http://testserver/deletions/{removal.pk}/",
        "subuser": "acme", "total": 1,
    }  # fmt: skip
    assert one["Location"] == one.json()["url"]
    assert (removal.list, removal.subuser.username, removal.state) == (cached, "acme", "pending")
    assert removal.justification == "Requested through the SendGrid-compatible API by token nightly"
    assert list(removal.items.values_list("email", flat=True)) == [f"{name}-a1@example.com"]

    body = {"emails": [f"{name}-a0@example.com", f"{name}-a2@example.com", "no@example.com",
                       f"{name}-gone@example.com", f"{name}-b0@example.com"]}  # fmt: skip
    many = call(client, "delete", f"{V3}/{name}", secret, body, behalf="acme",
                headers={"X-Ticket": "T-1"})  # fmt: skip
    assert many.status_code == 202, many.content
    removal = DeletionRequest.objects.get(pk=many.json()["id"])
    assert removal.ticket == "T-1" and removal.list == cached
    assert sorted(removal.items.values_list("email", flat=True)) == [
        f"{name}-a0@example.com", f"{name}-a2@example.com"]  # fmt: skip
    # Nothing leaves the list before an approver approves.
    assert f"{name}-a1@example.com" in emails(call(client, "get", f"{V3}/{name}", secret,
                                                   behalf="acme"))  # fmt: skip


@pytest.mark.parametrize("name", REMOVABLE)
def test_a_delete_of_blocks_answers_clear_errors(client, data, subusers, name):
    secret = token("rex", role="requester")
    path = f"{V3}/{name}"
    missing = call(client, "delete", f"{path}/nobody@example.com", secret, behalf="acme")
    assert missing.status_code == 404 and missing.json()["errors"][0]["message"]
    other_list = call(client, "delete", f"{path}/bounces-a1@example.com", secret, behalf="acme")
    assert other_list.status_code == 404
    everything = call(client, "delete", path, secret, {"delete_all": True}, behalf="acme")
    assert everything.status_code == 400
    assert everything.json()["errors"][0]["field"] == "delete_all"
    assert call(client, "delete", path, secret, None, behalf="acme").status_code == 400
    unnamed = call(client, "delete", f"{path}/{name}-a1@example.com", secret)
    assert unnamed.status_code == 400  # a token seeing several subusers names one
    first = call(client, "delete", f"{path}/{name}-a1@example.com", secret, behalf="acme")
    again = call(client, "delete", f"{path}/{name}-a1@example.com", secret, behalf="acme")
    assert (first.status_code, again.status_code) == (202, 409)
    assert "pending" in again.json()["errors"][0]["message"]
    viewer = call(client, "delete", f"{path}/{name}-a2@example.com", token(), behalf="acme")
    assert viewer.status_code == 403
    acme = subusers[0]
    scoped = token("solo", role="requester", subusers=[acme])
    outside = call(client, "delete", f"{path}/{name}-b0@example.com", scoped, behalf="beta")
    assert outside.status_code == 403
    assert DeletionRequest.objects.count() == 1
