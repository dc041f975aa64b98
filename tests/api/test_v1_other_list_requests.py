"""Removals of the other lists through `/api/v1/deletion-requests/`: read back with their list,
group and consent; an approver without the separate permission is refused (403) as on the
pages, because the service refuses."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from bounceadmin.deletions.other_lists import Consent, removal_request_create
from bounceadmin.suppressions.models import Suppression
from tests.api.v1_support import bearer_for
from tests.support.factories import make_group, make_subuser, make_suppression, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/deletion-requests/"


def permitted(user):
    user.user_permissions.add(Permission.objects.get(codename="remove_recipient_optout"))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def optout_request():
    acme = make_subuser("acme")
    entry = make_suppression(acme, "pat@example.com", group=make_group(acme, "Newsletter"))
    rita = permitted(make_user("rita", role="requester"))
    [request] = removal_request_create(
        user=rita, entries=Suppression.objects.filter(pk=entry.pk), justification="asked",
        consent=Consent("Send me the newsletter again", timezone.now() - timedelta(hours=1),
                        "SUP-5"),
    )  # fmt: skip
    return request


def test_a_request_reads_back_with_its_list_group_and_consent(client, optout_request):
    headers = bearer_for(make_user("vera", role="viewer"))

    body = client.get(f"{URL}{optout_request.pk}/", **headers).json()

    assert (body["list"], body["group"]) == ("group_unsubscribes", "Newsletter")
    assert body["consent"]["statement"] == "Send me the newsletter again"
    assert body["consent"]["reference"] == "SUP-5"
    assert body["items"][0]["suppression_id"] is not None


def test_an_approver_without_the_permission_is_refused_and_one_with_it_approves(
    client, optout_request
):
    plain = bearer_for(make_user("arne", role="approver"), name="plain")
    allowed = bearer_for(permitted(make_user("otto", role="approver")), name="allowed")

    refused = client.post(f"{URL}{optout_request.pk}/approve", **plain)
    approved = client.post(f"{URL}{optout_request.pk}/approve", **allowed)

    assert refused.status_code == 403
    assert "separate permission" in refused.json()["errors"][0]["message"]
    assert approved.status_code == 200 and approved.json()["state"] == "approved"


@pytest.fixture
def lists():
    acme, globex = make_subuser("acme"), make_subuser("globex")
    blocks = [make_suppression(s, f"b{i}@example.com", "blocks", reason="550 blocked")
              for s in (acme, globex) for i in range(2)]  # fmt: skip
    spam = make_suppression(acme, "s@example.com", "spam_reports", ip="192.0.2.1")
    return {"acme": acme, "globex": globex, "blocks": blocks, "spam": spam}


def test_blocks_are_requested_by_ids_one_request_per_subuser(client, lists):
    headers = bearer_for(make_user("rita", role="requester"))
    ids = [e.pk for e in lists["blocks"]]
    body = {"list": "blocks", "ids": ids, "justification": "delisted"}

    preview = client.post(URL, {**body, "dry_run": True}, content_type="application/json",
                          **headers)  # fmt: skip
    made = client.post(URL, body, content_type="application/json", **headers)
    again = client.post(URL, {**body, "dry_run": True}, content_type="application/json",
                        **headers)  # fmt: skip

    assert preview.status_code == 200 and preview.json()["total"] == 4
    assert made.status_code == 201
    assert sorted((r["subuser"], r["list"], r["total"]) for r in made.json()["requests"]) == [
        ("acme", "blocks", 2), ("globex", "blocks", 2),
    ]  # fmt: skip
    assert again.json()["total"] == 0 and again.json()["left_out_total"] == 4


def test_other_lists_refuse_filters_delete_all_and_ids_of_another_list(client, lists):
    headers = bearer_for(make_user("rita", role="requester"))
    post = lambda body: client.post(  # noqa: E731
        URL, {"justification": "x", **body}, content_type="application/json", **headers
    )

    by_filter = post({"list": "blocks", "filter": {"subuser": "acme"}})
    whole = post({"list": "blocks", "ids": [lists["blocks"][0].pk], "delete_all": True})
    wrong_list = post({"list": "blocks", "ids": [lists["spam"].pk]})

    assert by_filter.status_code == 400 and by_filter.json()["errors"][0]["field"] == "filter"
    assert whole.status_code == 400 and whole.json()["errors"][0]["field"] == "delete_all"
    assert wrong_list.status_code == 404


def test_a_spam_report_needs_the_permission_and_the_recipients_consent(client, lists):
    body = {"list": "spam_reports", "ids": [lists["spam"].pk], "justification": "asked"}
    consent = {"statement": "Mail me again", "reference": "SUP-1",
               "at": (timezone.now() - timedelta(hours=1)).isoformat()}  # fmt: skip
    plain = bearer_for(make_user("rita", role="requester"), name="plain")
    allowed = bearer_for(permitted(make_user("pia", role="requester")), name="allowed")

    refused = client.post(URL, {**body, "consent": consent}, content_type="application/json",
                          **plain)  # fmt: skip
    no_consent = client.post(URL, body, content_type="application/json", **allowed)
    made = client.post(URL, {**body, "consent": consent}, content_type="application/json",
                       **allowed)  # fmt: skip

    assert refused.status_code == 403
    assert no_consent.status_code == 400 and "consent" in no_consent.json()["errors"][0]["message"]
    assert made.status_code == 201
    assert made.json()["requests"][0]["consent"]["reference"] == "SUP-1"


def test_a_consent_older_than_the_spam_report_is_refused(client, lists):
    allowed = bearer_for(permitted(make_user("pia", role="requester")))
    body = {"list": "spam_reports", "ids": [lists["spam"].pk], "justification": "asked",
            "consent": {"statement": "Mail me again", "reference": "SUP-1",
                        "at": "2020-01-01T00:00:00Z"}}  # fmt: skip

    refused = client.post(URL, body, content_type="application/json", **allowed)

    assert refused.status_code == 400
    message = refused.json()["errors"][0]["message"]
    assert "newer than the opt-out it overrides" in message
    assert f"{lists['spam'].created:%Y-%m-%d %H:%M:%S} UTC" in message
    assert not lists["spam"].deletion_items.exists()
