"""A worker killed with SIGKILL mid-refresh and mid-push, then a fresh one: nothing is lost,
nothing confirmed is pushed twice, the dead worker's lease frees itself within
REFRESH_LOCK_SECONDS, and the sweepers (`recover_interrupted_refreshes`, `resume_deletions`)
finish the job. The sandbox is slowed down so that the kill lands mid-way. A short lease here
keeps these tests quick; test_takeover.py runs the same on the shipped timings."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.models import Bounce, RefreshRun, Subuser
from bounceadmin.bounces.refresh import bounces_refresh, refresh_mark_interrupted
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.bounces.tasks import recover_interrupted_refreshes, refresh_subuser
from bounceadmin.deletions import services
from bounceadmin.deletions.models import DeletionRequest
from bounceadmin.deletions.tasks import resume_deletions
from tests.support.factories import make_user
from tests.support.workers import kill_worker, purge_broker, start_worker, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

T0 = 1_700_000_000
LEASE = 3  # REFRESH_LOCK_SECONDS, in the workers and here
LIST = "/v3/suppression/bounces"


def rows(start: int, n: int) -> list[dict]:
    return [{"email": f"user{i:05d}@example.com", "status": "5.1.1",
             "reason": f"550 5.1.1 user{i} unknown", "created": T0 + i}
            for i in range(start, start + n)]  # fmt: skip


def wait_for(predicate, *, timeout: float = 30, step: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)
    return found


@pytest.fixture
def acme(upstream, sg, settings, tmp_path):
    settings.REFRESH_LOCK_SECONDS = LEASE
    upstream.store.add_subuser("acme")
    subusers_sync()
    purge_broker()
    return Subuser.objects.get(username="acme")


@pytest.fixture
def workers(upstream, tmp_path):
    """Start workers on demand; whatever is left running is killed at the end."""
    started = []
    # The bounce refresh's recovery alone: the other lists' runs would follow it on each worker.
    env = worker_env(upstream, REFRESH_LOCK_SECONDS=str(LEASE), REFRESH_OTHER_LISTS="false")

    def start():
        proc = start_worker(env, tmp_path / f"worker{len(started)}.log")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        kill_worker(proc)


def sent_for_deletion(upstream) -> Counter:
    """How often each address reached upstream in a batch delete. A request the kill cut off
    arrived without its (whole) body and deleted nothing."""
    return Counter(
        email
        for r in upstream.requests
        if r["method"] == "DELETE" and isinstance(r["body"], dict)
        for email in r["body"]["emails"]
    )


def lease_expiry(subuser):
    return Subuser.objects.values_list("lock_expires_at", flat=True).get(pk=subuser.pk)


def wait_for_free_lease(subuser, killed_at: float) -> float:
    """Seconds from the kill until the dead worker's lease expired."""
    expires = lease_expiry(subuser)
    assert expires is not None, "the killed worker held no lease"
    # the lease runs out by itself no later than REFRESH_LOCK_SECONDS after the kill
    remaining = (expires - timezone.now()).total_seconds()
    freed_after = time.monotonic() - killed_at + remaining
    assert freed_after <= LEASE + 0.5
    time.sleep(max(remaining, 0) + 0.05)
    assert lease_expiry(subuser) < timezone.now()
    return freed_after


def test_refresh_killed_mid_way_is_closed_and_rerun_converges(upstream, sg, acme, workers):
    upstream.store.add_bounces("acme", rows(0, 4000))
    assert bounces_refresh(subuser=acme, full=True, client=sg).outcome == "ok"
    # upstream moves on: the refresh that gets killed has real work to do
    upstream.store.remove_bounces("acme", [r["email"] for r in rows(1000, 60)])
    upstream.store.add_bounces("acme", rows(9000, 150))
    cache_before = list(Bounce.objects.order_by("pk").values())
    upstream.set_latency(250)  # nine listing pages: about 2.5 s
    upstream.clear_requests()

    first = workers()
    refresh_subuser.delay(acme.pk, True)
    wait_for(lambda: len([r for r in upstream.requests if r["path"] == LIST]) >= 3,
             what="the refresh to be three pages in")  # fmt: skip
    kill_worker(first)  # SIGKILL to the process group
    killed_at = time.monotonic()

    [run] = RefreshRun.objects.filter(subuser=acme, outcome="running")
    assert list(Bounce.objects.order_by("pk").values()) == cache_before  # nothing written
    assert refresh_mark_interrupted() == 0  # its lease still runs: it might be alive
    upstream.set_latency(0)

    second = workers()
    wait_for_free_lease(acme, killed_at)
    recover_interrupted_refreshes.delay()
    wait_for(lambda: RefreshRun.objects.get(pk=run.pk).outcome == "failed",
             what="the interrupted run to be closed")  # fmt: skip
    run.refresh_from_db()
    assert run.finished_at is not None and "Interrupted" in run.error

    # the sweeper also runs it again, as full as it was
    rerun = wait_for(
        lambda: RefreshRun.objects.filter(subuser=acme, outcome="ok", pk__gt=run.pk).first(),
        what="the new refresh",
    )
    assert rerun.kind == "full"
    assert (rerun.created, rerun.removed) == (150, 60)
    upstream_rows = {b["email"]: b for b in upstream.store.bounces("acme")}
    active = Bounce.objects.filter(subuser=acme, removed_at__isnull=True)
    assert set(active.values_list("email", flat=True)) == set(upstream_rows)
    assert not RefreshRun.objects.filter(outcome="running").exists()
    acme.refresh_from_db()
    assert acme.lock_token == "" and acme.last_refresh_id == rerun.pk
    assert second.poll() is None


def test_push_killed_after_first_batch_resumes_without_resending_confirmed(
    upstream, sg, acme, workers
):
    upstream.store.add_bounces("acme", rows(0, 1500))
    upstream.store.add_bounces("acme", rows(5000, 5))  # not in the request: must stay
    assert bounces_refresh(subuser=acme, full=True, client=sg).outcome == "ok"
    requester, approver = make_user("rita", role="requester"), make_user("arne", role="approver")
    [request] = services.deletion_request_create(
        user=requester,
        bounces=Bounce.objects.filter(subuser=acme, email__lt="user05000"),
        justification="INC-7 blocklist cleanup",
        confirmation="delete 1500",
    )
    upstream.set_latency(300)
    upstream.clear_requests()

    first = workers()
    services.deletion_approve(request_id=request.pk, user=approver)  # queues the push
    wait_for(lambda: request.items.filter(state="done").count() >= 500,
             step=0.01, what="the first batch to be confirmed")  # fmt: skip
    kill_worker(first)
    killed_at = time.monotonic()

    states = dict(request.items.order_by().values_list("state").annotate(n=Count("pk")))
    done_at_kill = set(request.items.filter(state="done").values_list("email", flat=True))
    in_flight = set(request.items.filter(state="pushing").values_list("email", flat=True))
    # the second batch was marked `pushing` and sent, or about to be, when the worker died
    assert states.get("done") == 500, states
    assert states.get("pushing", 0) + states.get("pending", 0) == 1000, states
    assert DeletionRequest.objects.get(pk=request.pk).state == "pushing"
    assert resume_deletions() == 0  # its lease still runs: the push might be alive
    upstream.set_latency(0)

    workers()
    wait_for_free_lease(acme, killed_at)
    resume_deletions.delay()
    wait_for(lambda: DeletionRequest.objects.get(pk=request.pk).state == "done",
             what="the resumed push")  # fmt: skip

    sent = sent_for_deletion(upstream)
    wanted = set(request.items.values_list("email", flat=True))
    assert set(sent) == wanted
    # confirmed before the kill: sent exactly once, never again
    assert all(sent[e] == 1 for e in done_at_kill)
    # in flight when it died: sent again (the delete is idempotent); the rest exactly once
    assert all(sent[e] <= 2 for e in in_flight)
    assert all(sent[e] == 1 for e in wanted - done_at_kill - in_flight)
    remaining = {b["email"] for b in upstream.store.bounces("acme")}
    assert remaining == {r["email"] for r in rows(5000, 5)}
    assert set(request.items.values_list("state", flat=True)) == {"done"}
    active = Bounce.objects.filter(subuser=acme, removed_at__isnull=True)
    assert set(active.values_list("email", flat=True)) == remaining
    request.refresh_from_db()
    assert request.attempts == 2
    pushed = AuditEvent.objects.filter(deletion_request_id=request.pk, action="deletion.pushed")
    assert pushed.count() == 1
    assert request.finished_at > timezone.now() - timedelta(minutes=1)
