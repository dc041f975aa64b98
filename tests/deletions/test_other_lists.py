"""Removing entries of the other lists: blocks and invalid emails like bounces; spam reports
and unsubscribes only with the separate permission, one at a time, never by filter, with the
recipient's consent; decided four-eyes and pushed to the sandbox over HTTP."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.models import Subuser
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.deletions import services
from bounceadmin.deletions.other_lists import Consent, removal_request_create
from bounceadmin.deletions.push import deletion_push
from bounceadmin.suppressions.lists import SuppressionList
from bounceadmin.suppressions.models import Suppression, SuppressionListState
from bounceadmin.suppressions.refresh import list_refresh
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

T0 = 1_700_000_000
BLOCKS, SPAM = SuppressionList.BLOCKS, SuppressionList.SPAM_REPORTS
GLOBAL, GROUP = SuppressionList.GLOBAL_UNSUBSCRIBES, SuppressionList.GROUP_UNSUBSCRIBES


def with_optout_permission(user):
    user.user_permissions.add(Permission.objects.get(codename="remove_recipient_optout"))
    return type(user).objects.get(pk=user.pk)  # a fresh permission cache


def consent(**changes) -> Consent:
    values = {"statement": "Please send me your newsletter again.",
              "at": timezone.now() - timedelta(days=1), "reference": "ticket #4711"}  # fmt: skip
    return Consent(**{**values, **changes})


@pytest.fixture
def world(upstream, sg):
    lists = upstream.store.lists
    for name in ("alpha", "beta"):
        upstream.store.add_subuser(name)
        lists.add("blocks", name, [{"email": f"b{i}@example.com", "created": T0 + i,
                                    "reason": "550 blocked", "status": "5.7.1"}
                                   for i in range(3)])  # fmt: skip
        spam = [{"email": e, "created": T0, "ip": "1.2.3.4"} for e in ("s@x.com", "t@x.com")]
        lists.add("spam_reports", name, spam)
        lists.add("unsubscribes", name, [{"email": "u@example.com", "created": T0}])
        group = lists.groups.add_group(name, name="Newsletter")
        lists.groups.add(name, group["id"], [{"email": "g@example.com", "created": T0}])
    subusers_sync()
    for subuser in Subuser.objects.all():
        for name in (BLOCKS, SPAM, GLOBAL, GROUP):
            list_refresh(subuser=subuser, list=name, full=True, client=sg)
    return {
        "alpha": Subuser.objects.get(username="alpha"),
        "beta": Subuser.objects.get(username="beta"),
        "requester": make_user("rita", role="requester"),
        "approver": make_user("arne", role="approver"),
    }


def entries(subuser, name, **filters):
    return Suppression.objects.filter(subuser=subuser, list=name, **filters)


def test_blocks_are_requested_by_filter_decided_four_eyes_and_pushed(world, upstream, sg):
    created = removal_request_create(
        user=world["requester"], entries=Suppression.objects.filter(list=BLOCKS),
        justification="delisted from Spamhaus", by_filter=True,
    )  # fmt: skip
    assert sorted((r.subuser.username, r.list, r.total) for r in created) == [
        ("alpha", "blocks", 3), ("beta", "blocks", 3),
    ]  # fmt: skip
    alpha = next(r for r in created if r.subuser == world["alpha"])
    with pytest.raises(services.NotPermitted):
        services.deletion_approve(request_id=alpha.pk, user=world["requester"])
    services.deletion_approve(request_id=alpha.pk, user=world["approver"])

    pushed = deletion_push(request_id=alpha.pk, client=sg)

    assert pushed.state == "done"
    [delete] = [r for r in upstream.requests if r["method"] == "DELETE"]
    assert (delete["path"], delete["on_behalf_of"]) == ("/v3/suppression/blocks", "alpha")
    assert sorted(delete["body"]["emails"]) == [
        "b0@example.com",
        "b1@example.com",
        "b2@example.com",
    ]
    assert upstream.store.lists.entries("blocks", "alpha") == []
    assert not entries(world["alpha"], BLOCKS, removed_at__isnull=True).exists()
    assert entries(world["beta"], BLOCKS, removed_at__isnull=True).count() == 3
    assert SuppressionListState.objects.get(subuser=world["alpha"], list=BLOCKS).active == 0
    removed = entries(world["alpha"], BLOCKS).first()
    assert removed.changes.get().kind == "removed"


def test_a_pending_entry_is_not_requested_twice(world):
    one = entries(world["alpha"], BLOCKS, email="b0@example.com")
    removal_request_create(user=world["requester"], entries=one, justification="first")
    with pytest.raises(services.DeletionError, match="already in a pending request"):
        removal_request_create(user=world["requester"], entries=one, justification="again")


def test_one_list_per_request(world):
    mixed = Suppression.objects.filter(list__in=[BLOCKS, SuppressionList.INVALID_EMAILS]) | (
        Suppression.objects.filter(list=GLOBAL)
    )
    with pytest.raises(services.DeletionError, match="One list per request"):
        removal_request_create(user=world["requester"], entries=mixed, justification="x")


def test_a_scoped_requester_cannot_reach_another_subusers_entries(world):
    scoped = make_user("sam", role="requester", subusers=[world["beta"]])
    with pytest.raises(services.DeletionError, match="no entry"):
        removal_request_create(
            user=scoped, entries=entries(world["alpha"], BLOCKS), justification="not mine"
        )


@pytest.mark.parametrize("name", [SPAM, GLOBAL, GROUP])
def test_an_optout_needs_the_separate_permission(world, name):
    one = entries(world["alpha"], name)[:1]
    with pytest.raises(services.NotPermitted, match="separate permission"):
        removal_request_create(
            user=world["requester"], entries=Suppression.objects.filter(pk__in=one),
            justification="customer asked", consent=consent(),
        )  # fmt: skip


def test_an_optout_is_refused_by_filter_in_bulk_or_without_consent(world):
    rita = with_optout_permission(world["requester"])
    spam = entries(world["alpha"], SPAM)
    one = spam.filter(email="s@x.com")
    with pytest.raises(services.DeletionError, match="never by filter"):
        removal_request_create(user=rita, entries=one, justification="x", consent=consent(),
                               by_filter=True)  # fmt: skip
    with pytest.raises(services.DeletionError, match="one address at a time"):
        removal_request_create(user=rita, entries=spam, justification="x", consent=consent())
    with pytest.raises(services.DeletionError, match="needs the recipient's consent"):
        removal_request_create(user=rita, entries=one, justification="x")
    with pytest.raises(services.DeletionError, match="incomplete: where it is kept"):
        removal_request_create(user=rita, entries=one, justification="x",
                               consent=consent(reference="  "))  # fmt: skip
    with pytest.raises(services.DeletionError, match="future"):
        removal_request_create(user=rita, entries=one, justification="x",
                               consent=consent(at=timezone.now() + timedelta(days=2)))  # fmt: skip
    assert not Suppression.objects.filter(deletion_items__isnull=False).exists()


def test_an_optout_with_consent_is_approved_only_by_a_permitted_approver_and_pushed(
    world, upstream, sg
):
    rita = with_optout_permission(world["requester"])
    [request] = removal_request_create(
        user=rita, entries=entries(world["alpha"], GROUP), justification="customer asked",
        ticket="SUP-1", consent=consent(),
    )  # fmt: skip
    assert (request.list, request.group.name, request.consent_reference) == (
        "group_unsubscribes", "Newsletter", "ticket #4711",
    )  # fmt: skip
    event = AuditEvent.objects.get(action="deletion.requested", deletion_request_id=request.pk)
    assert event.details["consent"]["statement"] == "Please send me your newsletter again."

    with pytest.raises(services.NotPermitted, match="separate permission"):
        services.deletion_approve(request_id=request.pk, user=world["approver"])
    arne = with_optout_permission(world["approver"])
    services.deletion_approve(request_id=request.pk, user=arne)
    pushed = deletion_push(request_id=request.pk, client=sg)

    assert pushed.state == "done"
    [delete] = [r for r in upstream.requests if r["method"] == "DELETE"]
    assert delete["path"] == (
        f"/v3/asm/groups/{request.group.upstream_id}/suppressions/g%40example.com"
    )
    assert delete["on_behalf_of"] == "alpha"
    assert not entries(world["alpha"], GROUP, removed_at__isnull=True).exists()
    assert entries(world["beta"], GROUP, removed_at__isnull=True).exists()


def test_a_global_unsubscribe_push_that_fails_stays_retryable(world, upstream, sg):
    rita = with_optout_permission(world["requester"])
    arne = with_optout_permission(world["approver"])
    [request] = removal_request_create(
        user=rita, entries=entries(world["beta"], GLOBAL), justification="asked",
        consent=consent(),
    )  # fmt: skip
    services.deletion_approve(request_id=request.pk, user=arne)
    upstream.inject_fault("status", status=503, method="DELETE", count=20)

    failed = deletion_push(request_id=request.pk, client=sg)

    assert failed.state == "failed"
    assert entries(world["beta"], GLOBAL, removed_at__isnull=True).exists()
    upstream.clear_faults()
    services.deletion_retry_failed(request_id=request.pk, user=rita)
    again = deletion_push(request_id=request.pk, client=sg)

    assert again.state == "done"
    assert upstream.store.lists.entries("unsubscribes", "beta") == []
    assert not entries(world["beta"], GLOBAL, removed_at__isnull=True).exists()


def test_the_entry_page_asks_for_consent_and_files_one_request(world, client):
    rita = with_optout_permission(world["requester"])
    client.force_login(rita)
    entry = entries(world["alpha"], SPAM).get(email="s@x.com")
    url = f"/deletions/new/entry/{entry.pk}/"

    page = client.get(url)
    assert page.status_code == 200
    assert b"What the recipient said" in page.content and b"Where it is kept" in page.content

    refused = client.post(url, {"justification": "asked", "consent_statement": "yes please"})
    assert refused.status_code == 200 and b"This field is required" in refused.content
    assert not entry.deletion_items.exists()

    said = (timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    done = client.post(url, {"justification": "asked", "consent_statement": "<b>yes</b> please",
                             "consent_at": said, "consent_reference": "SUP-9"})  # fmt: skip
    request = entry.deletion_items.get().request
    assert done.status_code == 302 and done["Location"] == request.get_absolute_url()
    detail = client.get(request.get_absolute_url()).content
    assert b"&lt;b&gt;yes&lt;/b&gt; please" in detail and b"SUP-9" in detail  # escaped
    assert b"Spam reports" in detail


def test_the_entry_page_tells_a_requester_without_the_permission_why(world, client):
    client.force_login(world["requester"])
    entry = entries(world["alpha"], GLOBAL).get()

    page = client.get(f"/deletions/new/entry/{entry.pk}/")
    posted = client.post(f"/deletions/new/entry/{entry.pk}/", {"justification": "x"})

    assert page.status_code == 403 and b"separate permission" in page.content
    assert posted.status_code == 403 and not entry.deletion_items.exists()


def test_the_entry_page_files_a_block_without_consent_and_hides_other_subusers(world, client):
    scoped = make_user("sam", role="requester", subusers=[world["beta"]])
    client.force_login(scoped)
    theirs = entries(world["alpha"], BLOCKS).first()
    mine = entries(world["beta"], BLOCKS).first()

    assert client.get(f"/deletions/new/entry/{theirs.pk}/").status_code == 404
    page = client.get(f"/deletions/new/entry/{mine.pk}/")
    assert b"What the recipient said" not in page.content
    client.post(f"/deletions/new/entry/{mine.pk}/", {"justification": "delisted"})
    assert mine.deletion_items.get().request.list == "blocks"
