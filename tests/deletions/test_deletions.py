"""Deletion requests through approval and the upstream push, against the sandbox over HTTP."""

import pytest
from django.db.models import Count

from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.models import Bounce, Subuser
from bounceadmin.bounces.refresh import bounces_refresh
from bounceadmin.bounces.refresh.locks import SubuserLease
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.deletions import services
from bounceadmin.deletions.models import DeletionItem, DeletionRequest
from bounceadmin.deletions.preview import deletion_preview
from bounceadmin.deletions.push import SubuserBusy, deletion_push
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

T0 = 1_700_000_000


def seed(sandbox, name, n, *, prefix="u"):
    sandbox.store.add_subuser(name)
    sandbox.store.add_bounces(
        name,
        [{"email": f"{prefix}{i:05d}@example.com", "status": "5.7.1",
          "reason": "554 5.7.1 blocked using zen.spamhaus.org", "created": T0 + i}
         for i in range(n)],
    )  # fmt: skip


@pytest.fixture
def world(upstream, sg):
    """Two subusers cached from the sandbox, a requester and an approver."""
    seed(upstream, "alpha", 1203)
    seed(upstream, "beta", 3)
    subusers_sync()
    for sub in Subuser.objects.all():
        bounces_refresh(subuser=sub, full=True, client=sg)
    return {
        "requester": make_user("rita", role="requester"),
        "approver": make_user("arne", role="approver"),
        "alpha": Subuser.objects.get(username="alpha"),
        "beta": Subuser.objects.get(username="beta"),
    }


def request_for(world, bounces, **kw):
    return services.deletion_request_create(
        user=world["requester"], bounces=bounces, justification="blocklist incident INC-1", **kw
    )


def upstream_emails(sandbox, name) -> set[str]:
    return {b["email"] for b in sandbox.store.bounces(name)}


def actions(request_id) -> list[str]:
    return list(
        AuditEvent.objects.filter(deletion_request_id=request_id)
        .order_by("at", "id")
        .values_list("action", flat=True)
    )


def test_request_splits_per_subuser_and_snapshots_bounces(world):
    selection = Bounce.objects.filter(email__in=["u00001@example.com", "u00002@example.com"])

    created = request_for(world, selection, ticket="INC-1")

    assert sorted((r.subuser.username, r.total) for r in created) == [("alpha", 2), ("beta", 2)]
    assert len({r.batch for r in created}) == 1
    item = DeletionItem.objects.get(request__subuser__username="alpha", email="u00001@example.com")
    bounce = Bounce.objects.get(subuser__username="alpha", email="u00001@example.com")
    assert (item.status, item.reason, item.created) == (
        bounce.status,
        bounce.reason,
        bounce.created,
    )
    assert item.state == "pending"
    events = AuditEvent.objects.filter(action="deletion.requested")
    assert events.count() == 2
    assert all(e.actor_name == "rita" and e.details["ticket"] == "INC-1" for e in events)


def test_request_needs_justification(world):
    with pytest.raises(services.DeletionError, match="justification"):
        services.deletion_request_create(
            user=world["requester"], bounces=Bounce.objects.all()[:1], justification="  "
        )


def test_large_request_needs_typed_confirmation(world, settings):
    settings.DELETION_CONFIRM_THRESHOLD = 100
    alpha = Bounce.objects.filter(subuser=world["alpha"])

    with pytest.raises(services.DeletionError, match="delete 1203"):
        request_for(world, alpha)
    [created] = request_for(world, alpha, confirmation="Delete 1203")

    assert created.total == 1203


def test_delete_all_needs_typed_confirmation(world):
    beta = Bounce.objects.filter(subuser=world["beta"])

    with pytest.raises(services.DeletionError, match="delete 3"):
        request_for(world, beta, delete_all_subusers=frozenset({"beta"}))
    [created] = request_for(world, beta, delete_all_subusers=frozenset({"beta"}),
                            confirmation="delete 3")  # fmt: skip

    assert created.delete_all


def test_preview_counts_per_subuser_and_spots_whole_lists(world):
    preview = deletion_preview(
        bounces=Bounce.objects.filter(email__in=["u00001@example.com"]) | Bounce.objects.filter(
            subuser=world["beta"])
    )  # fmt: skip

    rows = {p.subuser.username: p for p in preview.subusers}
    assert (rows["alpha"].count, rows["beta"].count, preview.total) == (1, 3, 4)
    assert rows["beta"].whole_list and not rows["alpha"].whole_list
    assert len(rows["beta"].sample) == 3


def test_four_eyes_requester_cannot_approve_own_request(world):
    own = make_user("solo", role="approver")
    [created] = services.deletion_request_create(
        user=own, bounces=Bounce.objects.filter(subuser=world["beta"]), justification="x"
    )

    with pytest.raises(services.DeletionError, match="own request"):
        services.deletion_approve(request_id=created.pk, user=own)
    assert DeletionRequest.objects.get(pk=created.pk).state == "pending"


def test_self_approval_setting_relaxes_four_eyes(world, settings):
    settings.DELETION_ALLOW_SELF_APPROVAL = True
    own = make_user("solo", role="approver")
    [created] = services.deletion_request_create(
        user=own, bounces=Bounce.objects.filter(subuser=world["beta"]), justification="x"
    )

    services.deletion_approve(request_id=created.pk, user=own)

    assert DeletionRequest.objects.get(pk=created.pk).state == "approved"


def test_reject_needs_a_comment_and_is_final(world):
    [created] = request_for(world, Bounce.objects.filter(subuser=world["beta"]))

    with pytest.raises(services.DeletionError):
        services.deletion_reject(request_id=created.pk, user=world["approver"], comment="")
    services.deletion_reject(request_id=created.pk, user=world["approver"], comment="wrong list")
    with pytest.raises(services.DeletionError, match="already rejected"):
        services.deletion_approve(request_id=created.pk, user=world["approver"])

    created.refresh_from_db()
    assert (created.state, created.decided_by, created.decision_comment) == (
        "rejected", world["approver"], "wrong list"
    )  # fmt: skip
    assert actions(created.pk) == ["deletion.requested", "deletion.rejected"]


def test_push_removes_upstream_in_batches_with_on_behalf_of(world, upstream, sg):
    alpha = Bounce.objects.filter(subuser=world["alpha"])
    [created] = request_for(world, alpha, confirmation="delete 1203")
    services.deletion_approve(request_id=created.pk, user=world["approver"])
    upstream.clear_requests()

    pushed = deletion_push(request_id=created.pk, client=sg)

    assert pushed.state == "done" and pushed.attempts == 1
    deletes = [r for r in upstream.requests if r["method"] == "DELETE"]
    assert [len(r["body"]["emails"]) for r in deletes] == [500, 500, 203]
    assert {r["on_behalf_of"] for r in deletes} == {"alpha"}
    assert upstream_emails(upstream, "alpha") == set()
    assert upstream_emails(upstream, "beta") == {f"u{i:05d}@example.com" for i in range(3)}
    assert not Bounce.objects.filter(subuser=world["alpha"], removed_at__isnull=True).exists()
    assert Bounce.objects.filter(subuser=world["beta"], removed_at__isnull=True).count() == 3
    assert set(created.items.values_list("state", flat=True)) == {"done"}
    assert actions(created.pk) == ["deletion.requested", "deletion.approved", "deletion.pushed"]


def test_push_of_one_address_treats_404_as_already_gone(world, upstream, sg):
    bounce = Bounce.objects.get(subuser=world["beta"], email="u00001@example.com")
    [created] = request_for(world, Bounce.objects.filter(pk=bounce.pk))
    services.deletion_approve(request_id=created.pk, user=world["approver"])
    upstream.store.remove_bounces("beta", ["u00001@example.com"])  # someone was faster

    pushed = deletion_push(request_id=created.pk, client=sg)

    assert pushed.state == "done"
    [request] = [r for r in upstream.requests if r["method"] == "DELETE"]
    assert request["status"] == 404 and request["path"].endswith("u00001%40example.com")
    bounce.refresh_from_db()
    assert bounce.removed_at is not None


def test_push_partial_failure_keeps_cache_and_offers_retry(world, upstream, sg):
    [created] = request_for(world, Bounce.objects.filter(subuser=world["alpha"]),
                            confirmation="delete 1203")  # fmt: skip
    services.deletion_approve(request_id=created.pk, user=world["approver"])
    # the second batch is refused for good (a 400 is not retried)
    calls = {"n": 0}
    original = sg.delete_bounces

    def second_batch_refused(subuser, emails):
        calls["n"] += 1
        if calls["n"] == 2:
            upstream.inject_fault("status", status=400, method="DELETE", count=1)
        return original(subuser, emails)

    sg.delete_bounces = second_batch_refused
    pushed = deletion_push(request_id=created.pk, client=sg)

    assert pushed.state == "partly_failed"
    failed = created.items.filter(state="failed")
    assert failed.count() == 500 and all("400" in e for e in failed.values_list("error", flat=True))
    failed_emails = set(failed.values_list("email", flat=True))
    assert failed_emails <= upstream_emails(upstream, "alpha")
    # the cache marks removed only what upstream confirmed
    still = set(Bounce.objects.filter(subuser=world["alpha"], removed_at__isnull=True)
                .values_list("email", flat=True))  # fmt: skip
    assert still == failed_emails
    assert actions(created.pk)[-1] == "deletion.failed"

    sg.delete_bounces = original
    upstream.clear_requests()
    services.deletion_retry_failed(request_id=created.pk, user=world["requester"])
    again = deletion_push(request_id=created.pk, client=sg)

    assert again.state == "done" and again.attempts == 2
    sent = [e for r in upstream.requests if r["method"] == "DELETE" for e in r["body"]["emails"]]
    assert set(sent) == failed_emails  # confirmed addresses are never pushed again
    assert upstream_emails(upstream, "alpha") == set()
    assert actions(created.pk)[-2:] == ["deletion.retried", "deletion.pushed"]


def test_push_retries_5xx_and_429_then_succeeds(world, upstream, sg):
    [created] = request_for(world, Bounce.objects.filter(subuser=world["beta"]))
    services.deletion_approve(request_id=created.pk, user=world["approver"])
    upstream.inject_fault("status", status=503, method="DELETE", count=1)
    upstream.inject_fault("status", status=429, reset=1, method="DELETE", count=1)

    pushed = deletion_push(request_id=created.pk, client=sg)

    assert pushed.state == "done"
    assert upstream_emails(upstream, "beta") == set()


def test_push_upstream_down_fails_everything_and_keeps_it_retryable(world, upstream, sg):
    [created] = request_for(world, Bounce.objects.filter(subuser=world["alpha"]),
                            confirmation="delete 1203")  # fmt: skip
    services.deletion_approve(request_id=created.pk, user=world["approver"])
    upstream.inject_fault("status", status=503, method="DELETE", count=100)

    pushed = deletion_push(request_id=created.pk, client=sg)

    assert pushed.state == "failed"
    assert created.items.filter(state="failed").count() == 1203
    assert len(upstream_emails(upstream, "alpha")) == 1203
    assert Bounce.objects.filter(subuser=world["alpha"], removed_at__isnull=True).count() == 1203


def test_push_delete_all(world, upstream, sg):
    beta = Bounce.objects.filter(subuser=world["beta"])
    [created] = request_for(world, beta, delete_all_subusers=frozenset({"beta"}),
                            confirmation="delete 3")  # fmt: skip
    services.deletion_approve(request_id=created.pk, user=world["approver"])

    deletion_push(request_id=created.pk, client=sg)

    [request] = [r for r in upstream.requests if r["method"] == "DELETE"]
    assert request["body"] == {"delete_all": True} and request["on_behalf_of"] == "beta"
    assert upstream_emails(upstream, "beta") == set()
    assert not beta.filter(removed_at__isnull=True).exists()


def test_push_resumes_after_a_crash_without_resending_confirmed(world, upstream, sg):
    """A worker killed mid-push: items confirmed stay done, in-flight ones are resent."""
    [created] = request_for(world, Bounce.objects.filter(subuser=world["alpha"]),
                            confirmation="delete 1203")  # fmt: skip
    services.deletion_approve(request_id=created.pk, user=world["approver"])
    original = sg.delete_bounces
    calls = {"n": 0}

    def dies_on_second_batch(subuser, emails):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")  # after marking the batch `pushing`
        return original(subuser, emails)

    sg.delete_bounces = dies_on_second_batch
    with pytest.raises(SystemExit):
        deletion_push(request_id=created.pk, client=sg)
    states = dict(created.items.order_by().values_list("state").annotate(n=Count("pk")))
    assert states == {"done": 500, "pushing": 500, "pending": 203}

    sg.delete_bounces = original
    upstream.clear_requests()
    pushed = deletion_push(request_id=created.pk, client=sg)

    assert pushed.state == "done"
    resent = [e for r in upstream.requests if r["method"] == "DELETE" for e in r["body"]["emails"]]
    assert len(resent) == 703 and len(set(resent)) == 703
    done_first = set(created.items.order_by("pk").values_list("email", flat=True)[:500])
    assert not done_first & set(resent)
    assert AuditEvent.objects.filter(deletion_request_id=created.pk,
                                     action="deletion.pushed").count() == 1  # fmt: skip


def test_push_waits_while_a_refresh_holds_the_subuser(world, sg):
    [created] = request_for(world, Bounce.objects.filter(subuser=world["beta"]))
    services.deletion_approve(request_id=created.pk, user=world["approver"])
    lease = SubuserLease(world["beta"].pk)
    assert lease.acquire()

    with pytest.raises(SubuserBusy):
        deletion_push(request_id=created.pk, client=sg)

    lease.release()
    assert deletion_push(request_id=created.pk, client=sg).state == "done"


def test_push_of_unapproved_or_finished_request_does_nothing(world, upstream, sg):
    [created] = request_for(world, Bounce.objects.filter(subuser=world["beta"]))

    assert deletion_push(request_id=created.pk, client=sg).state == "pending"
    assert not [r for r in upstream.requests if r["method"] == "DELETE"]


def test_address_bouncing_again_after_removal_is_flagged_as_repeat(world, upstream, sg):
    bounce = Bounce.objects.get(subuser=world["beta"], email="u00002@example.com")
    [created] = request_for(world, Bounce.objects.filter(pk=bounce.pk))
    services.deletion_approve(request_id=created.pk, user=world["approver"])
    deletion_push(request_id=created.pk, client=sg)
    upstream.store.add_bounces("beta", [{"email": "u00002@example.com", "status": "5.7.1",
                                         "reason": "again", "created": T0 + 99_999}])  # fmt: skip

    bounces_refresh(subuser=world["beta"], full=False, client=sg)

    bounce.refresh_from_db()
    assert bounce.removed_at is None
    assert bounce.repeat_of == created.items.get()
    # the flag survives a later unchanged refresh too
    bounces_refresh(subuser=world["beta"], full=True, client=sg)
    bounce.refresh_from_db()
    assert bounce.repeat_of_id is not None


def test_approve_all_of_one_subuser_skips_own_requests(world):
    other = make_user("otto", role="requester")
    beta = Bounce.objects.filter(subuser=world["beta"])
    mine = services.deletion_request_create(
        user=world["approver"], bounces=beta.filter(email="u00000@example.com"), justification="x"
    )
    theirs = request_for(
        world, Bounce.objects.filter(subuser=world["beta"], email="u00001@example.com")
    )
    third = services.deletion_request_create(
        user=other, bounces=beta.filter(email="u00002@example.com"), justification="y"
    )

    approved = services.deletion_approve_subuser(
        subuser=world["beta"], user=world["approver"]
    ).approved

    assert sorted(approved) == sorted([theirs[0].pk, third[0].pk])
    assert DeletionRequest.objects.get(pk=mine[0].pk).state == "pending"
