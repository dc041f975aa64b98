"""A worker killed with SIGKILL mid-refresh or mid-push is taken over within a minute, on the
shipped timings (a 30 s lease) and with no beat running: by the next request for the same
subuser (`refresh_bounces --enqueue`), or, when nothing asks, by the next worker to start.
Real worker processes; the sandbox is slowed down so that the kill lands mid-way, just after
the dead worker last renewed its lease (the slowest case)."""

from __future__ import annotations

import time
from collections import Counter
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from bounceadmin.bounces.models import Bounce, RefreshRun, Subuser
from bounceadmin.bounces.refresh import bounces_refresh
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.bounces.tasks import refresh_subuser
from bounceadmin.deletions import services
from bounceadmin.deletions.models import DeletionRequest
from tests.support.factories import make_user
from tests.support.workers import kill_worker, purge_broker, start_worker, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

SHIPPED_LEASE = 30  # REFRESH_LOCK_SECONDS's default, in the workers and here
LIMIT = 60  # seconds from the kill until the work is done again
T0 = 1_700_000_000
LIST = "/v3/suppression/bounces"


def rows(start: int, n: int) -> list[dict]:
    return [{"email": f"user{i:05d}@example.com", "status": "5.1.1",
             "reason": f"550 5.1.1 user{i} unknown", "created": T0 + i}
            for i in range(start, start + n)]  # fmt: skip


def wait_for(predicate, *, timeout: float, step: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)
    return found


def since(moment) -> float:
    return (timezone.now() - moment).total_seconds()


@pytest.fixture
def acme(upstream, sg):
    assert settings.REFRESH_LOCK_SECONDS == SHIPPED_LEASE
    upstream.store.add_subuser("acme")
    subusers_sync()
    purge_broker()
    return Subuser.objects.get(username="acme")


@pytest.fixture
def workers(upstream, tmp_path):
    """Start workers on the shipped timings; whatever is left running is killed at the end."""
    started = []
    # The bounce refresh's recovery alone: the other lists' runs would follow it on each worker.
    env = worker_env(upstream, REFRESH_OTHER_LISTS="false")
    env.pop("REFRESH_LOCK_SECONDS", None)

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


def kill_mid_refresh(upstream, sg, acme, workers):
    """A full refresh with work to do, killed once its heartbeat has renewed its lease (at
    most 15 s in); returns the killed run, the time of the kill, and whether it was renewed."""
    upstream.store.add_bounces("acme", rows(0, 4000))
    assert bounces_refresh(subuser=acme, full=True, client=sg).outcome == "ok"
    # upstream moves on: the refresh that gets killed has real work to do
    upstream.store.remove_bounces("acme", [r["email"] for r in rows(1000, 60)])
    upstream.store.add_bounces("acme", rows(9000, 150))
    cache_before = list(Bounce.objects.order_by("pk").values())
    upstream.set_latency(2000)  # nine listing pages: about 18 s

    first = workers()
    refresh_subuser.delay(acme.pk, True)
    [run] = wait_for(lambda: list(RefreshRun.objects.filter(subuser=acme, outcome="running")),
                     timeout=30, what="the refresh to begin")  # fmt: skip
    began = lease_expiry(acme)
    assert SHIPPED_LEASE - 3 < (began - timezone.now()).total_seconds() <= SHIPPED_LEASE
    deadline = time.monotonic() + 15
    while lease_expiry(acme) == began and time.monotonic() < deadline:
        time.sleep(0.05)
    renewed = lease_expiry(acme) > began
    kill_worker(first)  # SIGKILL to the process group
    killed_at = timezone.now()

    run.refresh_from_db()
    assert run.outcome == "running"
    assert list(Bounce.objects.order_by("pk").values()) == cache_before  # nothing written
    upstream.set_latency(0)
    return run, killed_at, renewed


def assert_converged(upstream, acme, run, rerun) -> None:
    run.refresh_from_db()
    assert run.outcome == "failed" and run.error.startswith("Interrupted: the worker stopped")
    assert rerun.outcome == "ok" and (rerun.created, rerun.removed) == (150, 60)
    upstream_rows = {b["email"] for b in upstream.store.bounces("acme")}
    active = Bounce.objects.filter(subuser=acme, removed_at__isnull=True)
    assert set(active.values_list("email", flat=True)) == upstream_rows
    assert not RefreshRun.objects.filter(outcome="running").exists()
    acme.refresh_from_db()
    assert acme.lock_token == "" and acme.last_refresh_id == rerun.pk


def test_refresh_killed_mid_way_is_taken_over_by_the_next_request_within_a_minute(
    upstream, sg, acme, workers
):
    run, killed_at, renewed = kill_mid_refresh(upstream, sg, acme, workers)

    workers()
    ready = since(killed_at)
    out = StringIO()
    call_command("refresh_bounces", "--enqueue", "--full", "--subuser", "acme",
                 "--timeout", "90", stdout=out)  # fmt: skip

    [rerun] = RefreshRun.objects.filter(subuser=acme, pk__gt=run.pk)
    taken, done = (rerun.started_at - killed_at).total_seconds(), since(killed_at)
    print(f"\nrefresh killed; new worker ready after {ready:.1f} s, lease taken over after"
          f" {taken:.1f} s, refresh done after {done:.1f} s")  # fmt: skip
    assert done < LIMIT
    assert "acme: fetched 4090, created 150, updated 0, removed 60" in out.getvalue()
    assert_converged(upstream, acme, run, rerun)
    assert renewed, "the living worker's heartbeat did not renew its lease"


def test_refresh_killed_mid_way_is_run_again_by_the_next_worker_within_a_minute(
    upstream, sg, acme, workers
):
    run, killed_at, renewed = kill_mid_refresh(upstream, sg, acme, workers)

    workers()  # and nothing else: no beat, no new request
    ready = since(killed_at)
    rerun = wait_for(
        lambda: RefreshRun.objects.filter(subuser=acme, pk__gt=run.pk, outcome="ok").first(),
        timeout=LIMIT + 30, what="the refresh to run again",
    )  # fmt: skip

    done = (rerun.finished_at - killed_at).total_seconds()
    print(f"\nrefresh killed; new worker ready after {ready:.1f} s, closed and run again,"
          f" done after {done:.1f} s")  # fmt: skip
    assert done < LIMIT
    assert_converged(upstream, acme, run, rerun)
    assert rerun.kind == "full"


def test_push_killed_mid_way_is_resumed_by_the_next_worker_within_a_minute(
    upstream, sg, acme, workers
):
    upstream.store.add_bounces("acme", rows(0, 2000))
    upstream.store.add_bounces("acme", rows(5000, 5))  # not in the request: must stay
    assert bounces_refresh(subuser=acme, full=True, client=sg).outcome == "ok"
    requester, approver = make_user("rita", role="requester"), make_user("arne", role="approver")
    [request] = services.deletion_request_create(
        user=requester,
        bounces=Bounce.objects.filter(subuser=acme, email__lt="user05000"),
        justification="INC-7 blocklist cleanup",
        confirmation="delete 2000",
    )
    upstream.set_latency(3000)  # four batches of 500: about 12 s
    upstream.clear_requests()

    first = workers()
    services.deletion_approve(request_id=request.pk, user=approver)  # queues the push
    wait_for(lambda: request.items.filter(state="done").count() >= 500, step=0.01,
             timeout=30, what="the first batch to be confirmed")  # fmt: skip
    kill_worker(first)  # just after the push renewed its lease
    killed_at = timezone.now()
    done_at_kill = set(request.items.filter(state="done").values_list("email", flat=True))
    in_flight = set(request.items.filter(state="pushing").values_list("email", flat=True))
    assert 500 <= len(done_at_kill) < 2000
    assert DeletionRequest.objects.get(pk=request.pk).state == "pushing"
    upstream.set_latency(0)

    workers()  # and nothing else: no beat, no new request
    ready = since(killed_at)
    resumed = wait_for(
        lambda: DeletionRequest.objects.filter(pk=request.pk, attempts=2).exists()
        and since(killed_at),
        timeout=LIMIT + 30, step=0.05, what="the push to be resumed",
    )  # fmt: skip
    wait_for(lambda: DeletionRequest.objects.get(pk=request.pk).state == "done",
             timeout=30, what="the resumed push to finish")  # fmt: skip
    done = since(killed_at)
    print(f"\npush killed; new worker ready after {ready:.1f} s, resumed after {resumed:.1f} s,"
          f" done after {done:.1f} s")  # fmt: skip
    assert done < LIMIT

    sent = sent_for_deletion(upstream)
    wanted = set(request.items.values_list("email", flat=True))
    assert set(sent) == wanted
    assert all(sent[e] == 1 for e in done_at_kill)  # confirmed before the kill: never again
    assert all(sent[e] <= 2 for e in in_flight)  # in flight: sent again at most once
    assert all(sent[e] == 1 for e in wanted - done_at_kill - in_flight)
    remaining = {b["email"] for b in upstream.store.bounces("acme")}
    assert remaining == {r["email"] for r in rows(5000, 5)}
    active = Bounce.objects.filter(subuser=acme, removed_at__isnull=True)
    assert set(active.values_list("email", flat=True)) == remaining
    request.refresh_from_db()
    assert request.attempts == 2
