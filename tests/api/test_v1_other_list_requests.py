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
