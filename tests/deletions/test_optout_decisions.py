"""Deciding and retrying removals of spam reports and unsubscribes: never one's own, even in
single-person mode; a retry needs the separate permission, in the service and on the page; the
queue says what each request removes from and offers only the decisions the service allows."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from bounceadmin.deletions import services
from bounceadmin.deletions.models import DeletionItem, DeletionRequest
from bounceadmin.deletions.other_lists import Consent, removal_request_create
from bounceadmin.suppressions.models import Suppression
from tests.api.v1_support import bearer_for
from tests.support.factories import make_group, make_subuser, make_suppression, make_user

pytestmark = pytest.mark.django_db


def permitted(user):
    user.user_permissions.add(Permission.objects.get(codename="remove_recipient_optout"))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def world():
    acme = make_subuser("acme")
    group = make_group(acme, "Weekly digest")
    return {
        "acme": acme,
        "group_entry": make_suppression(acme, "pat@example.com", group=group),
        "spam": make_suppression(acme, "sam@example.com", "spam_reports", ip="192.0.2.1"),
        "block": make_suppression(acme, "bob@example.com", "blocks", reason="550 blocked"),
        "olga": permitted(make_user("olga", role="approver")),  # holds the permission
        "otto": permitted(make_user("otto", role="approver")),  # and so does otto
        "arne": make_user("arne", role="approver"),  # an approver without it
    }


def request_for(entry, user) -> DeletionRequest:
    consent = Consent("Send it again", timezone.now() - timedelta(minutes=5), "SUP-3")
    [made] = removal_request_create(
        user=user, entries=Suppression.objects.filter(pk=entry.pk), justification="asked",
        consent=consent if entry.list != "blocks" else None,
    )  # fmt: skip
    return made


# --- single-person mode ---------------------------------------------------------------------


def test_single_person_mode_never_lets_one_approve_their_own_optout_removal(world, settings):
    settings.DELETION_ALLOW_SELF_APPROVAL = True
    own = request_for(world["spam"], world["olga"])
    own_block = request_for(world["block"], world["olga"])

    with pytest.raises(services.NotPermitted, match="even in single-person mode"):
        services.deletion_approve(request_id=own.pk, user=world["olga"])
    # The other lists keep the setting's meaning; another permission holder decides.
    services.deletion_approve(request_id=own_block.pk, user=world["olga"])
    services.deletion_approve(request_id=own.pk, user=world["otto"])

    own.refresh_from_db()
    assert own.state == "approved" and own.decided_by == world["otto"]


def test_single_person_mode_api_and_bulk_approval_refuse_ones_own_optout(world, settings, client):
    settings.DELETION_ALLOW_SELF_APPROVAL = True
    own = request_for(world["group_entry"], world["olga"])

    refused = client.post(
        f"/api/v1/deletion-requests/{own.pk}/approve", **bearer_for(world["olga"])
    )
    bulk = services.deletion_approve_subuser(subuser=world["acme"], user=world["olga"])

    assert refused.status_code == 403
    assert "even in single-person mode" in refused.json()["errors"][0]["message"]
    assert bulk.approved == [] and "single-person mode" in bulk.skipped[own.pk]
    own.refresh_from_db()
    assert own.state == "pending"


def test_single_person_mode_pages_offer_no_approval_of_ones_own_optout(world, settings, client):
    settings.DELETION_ALLOW_SELF_APPROVAL = True
    own = request_for(world["spam"], world["olga"])
    client.force_login(world["olga"])

    queue = client.get("/deletions/").content.decode()
    approve = client.get(f"/deletions/{own.pk}/approve/").content.decode()
    everything = client.get("/deletions/approve-subuser/?subuser=acme").content.decode()

    assert f'aria-label="Approve request #{own.pk}…"' not in queue
    assert "Your own removal of an opt-out" in queue
    assert "Your own removal of an opt-out" in approve and "confirm-approve" not in approve
    assert f'name="request" value="{own.pk}"' not in everything


# --- retry --------------------------------------------------------------------------------------


def failed_request(world) -> DeletionRequest:
    """A removal of a global unsubscribe whose push failed (upstream was down)."""
    acme = world["acme"]
    entry = make_suppression(acme, "una@example.com", "global_unsubscribes")
    made = request_for(entry, world["olga"])
    services.deletion_approve(request_id=made.pk, user=world["otto"])
    made.items.update(state=DeletionItem.State.FAILED, error="503 Service Unavailable")
    DeletionRequest.objects.filter(pk=made.pk).update(state=DeletionRequest.State.FAILED)
    return made


def test_retrying_a_failed_optout_removal_needs_the_permission(
    world, django_capture_on_commit_callbacks
):
    made = failed_request(world)
    rita = make_user("rita", role="requester")

    with pytest.raises(services.NotPermitted, match="separate permission"):
        services.deletion_retry_failed(request_id=made.pk, user=rita)
    made.refresh_from_db()
    assert made.state == "failed" and made.items.get().state == "failed"

    with django_capture_on_commit_callbacks(execute=False):
        services.deletion_retry_failed(request_id=made.pk, user=world["olga"])
    made.refresh_from_db()
    assert made.state == "approved" and made.items.get().state == "pending"


def test_the_request_page_offers_a_retry_only_with_the_permission(world, client):
    made = failed_request(world)
    client.force_login(make_user("rita", role="requester"))

    page = client.get(made.get_absolute_url()).content.decode()
    posted = client.post(f"/deletions/{made.pk}/retry/", follow=True).content.decode()

    assert "Retry failed</button>" not in page
    assert "Retrying needs the separate permission" in page
    assert "separate permission" in posted
    made.refresh_from_db()
    assert made.state == "failed"


# --- the queue ----------------------------------------------------------------------------------


def test_the_queue_shows_list_group_and_consent_of_each_pending_request(world, client):
    group_request = request_for(world["group_entry"], world["olga"])
    spam_request = request_for(world["spam"], world["olga"])
    block_request = request_for(world["block"], world["olga"])
    client.force_login(world["otto"])

    page = client.get("/deletions/").content.decode()

    row = lambda r: page[page.index(f">#{r.pk}</a>") :][:1200]  # noqa: E731
    assert "Group unsubscribes" in row(group_request) and "“Weekly digest”" in row(group_request)
    assert "with consent" in row(group_request)
    assert "Spam reports" in row(spam_request) and "with consent" in row(spam_request)
    assert "Blocks" in row(block_request) and "with consent" not in row(block_request)


def test_the_queue_offers_optout_decisions_only_to_approvers_with_the_permission(world, client):
    spam_request = request_for(world["spam"], world["olga"])
    block_request = request_for(world["block"], world["olga"])

    client.force_login(world["arne"])
    plain = client.get("/deletions/").content.decode()
    detail = client.get(spam_request.get_absolute_url()).content.decode()
    approve = client.get(f"/deletions/{spam_request.pk}/approve/").content.decode()
    client.force_login(world["otto"])
    allowed = client.get("/deletions/").content.decode()

    assert f'aria-label="Approve request #{spam_request.pk}…"' not in plain
    assert f'aria-label="Reject request #{spam_request.pk}"' not in plain
    assert "needs the separate permission" in plain and "needs the separate permission" in detail
    assert f'aria-label="Approve request #{block_request.pk}…"' in plain
    assert "confirm-approve" not in approve and "needs the separate permission" in approve
    assert f'aria-label="Approve request #{spam_request.pk}…"' in allowed
    assert f'aria-label="Reject request #{spam_request.pk}"' in allowed


def test_the_entry_page_refuses_a_consent_older_than_the_optout(world, client):
    spam = world["spam"]
    client.force_login(world["olga"])

    page = client.post(f"/deletions/new/entry/{spam.pk}/", {
        "justification": "asked", "consent_statement": "Mail me again",
        "consent_at": "2020-01-01T10:00", "consent_reference": "SUP-1",
    }).content.decode()  # fmt: skip

    assert "The consent must be newer than the opt-out it overrides" in page
    assert f"opted out {spam.created:%Y-%m-%d %H:%M:%S} UTC" in page
    assert not spam.deletion_items.exists()
