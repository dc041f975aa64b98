"""Subuser leases in one process, on leases of a few seconds: the heartbeat renews a living
holder's lease, a dead holder's runs out and is taken over (its run closed), a living one is
left alone. The same with real worker processes on the shipped timings: test_takeover.py."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from bounceadmin.bounces import services as bounce_services
from bounceadmin.bounces.models import Bounce, RefreshRun, Subuser
from bounceadmin.bounces.refresh import WORKER_STOPPED, bounces_refresh, bounces_refresh_each
from bounceadmin.bounces.refresh.locks import SubuserLease, leases_stand_still
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.bounces.tasks import recover_interrupted_refreshes, refresh_subuser
from bounceadmin.deletions import services
from bounceadmin.deletions.push import SubuserBusy, deletion_push
from bounceadmin.sendgrid import get_client
from tests.support.factories import make_user

from .test_refresh import row

pytestmark = pytest.mark.django_db(transaction=True)  # the heartbeat has its own connection


@pytest.fixture
def acme(upstream, settings):
    settings.REFRESH_LOCK_SECONDS = 2  # renewed every 2/3 s
    upstream.store.add_subuser("acme")
    upstream.store.add_bounces("acme", [row(i) for i in range(30)])
    subusers_sync()
    return Subuser.objects.get(username="acme")


def wait_for(predicate, *, timeout: float, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return found


def lease_of(subuser) -> tuple[str, object]:
    return Subuser.objects.values_list("lock_token", "lock_expires_at").get(pk=subuser.pk)


def heartbeats() -> int:
    return sum(thread.name == "lease-heartbeat" for thread in threading.enumerate())


def dead_worker(subuser, *, seconds_left: float, kind: str = "full") -> RefreshRun:
    """What a worker killed mid-refresh leaves: its lease, no longer renewed, and its run."""
    Subuser.objects.filter(pk=subuser.pk).update(
        lock_token="dead", lock_expires_at=timezone.now() + timedelta(seconds=seconds_left)
    )
    run = RefreshRun.objects.create(subuser=subuser, kind=kind, started_at=timezone.now())
    Subuser.objects.filter(pk=subuser.pk).update(last_refresh=run)
    return run


def test_lease_is_renewed_while_held_and_freed_on_release(acme):
    lease = SubuserLease(acme.pk)
    assert lease.acquire()
    _, first = lease_of(acme)

    time.sleep(3)  # longer than the lease

    token, expires = lease_of(acme)
    assert token == lease.token and expires > timezone.now()
    assert not SubuserLease(acme.pk).acquire()
    lease.release()
    assert lease_of(acme) == ("", None)
    wait_for(lambda: heartbeats() == 0, timeout=2, what="the heartbeat to stop")


def test_take_over_leaves_a_living_holder_alone(acme):
    holder = SubuserLease(acme.pk)
    assert holder.acquire()

    started = time.monotonic()
    assert not SubuserLease(acme.pk).take_over()

    assert time.monotonic() - started < 2  # it renewed within a third of the lease
    assert lease_of(acme)[0] == holder.token
    holder.release()


def test_take_over_waits_for_a_dead_holders_lease_to_run_out(acme):
    dead_worker(acme, seconds_left=1.5)
    taker = SubuserLease(acme.pk)

    started = time.monotonic()
    assert taker.take_over()

    assert 1.3 < time.monotonic() - started < 3
    assert lease_of(acme)[0] == taker.token
    taker.release()


def test_refresh_task_takes_over_from_a_dead_worker_and_closes_its_run(acme):
    dead = dead_worker(acme, seconds_left=1.5)

    assert refresh_subuser(acme.pk, True) == "ok"

    dead.refresh_from_db()
    assert dead.outcome == "failed" and dead.error == WORKER_STOPPED
    acme.refresh_from_db()
    assert acme.last_refresh.outcome == "ok" and acme.last_refresh.created == 30
    assert lease_of(acme) == ("", None)


def test_refresh_task_skips_while_a_living_holder_renews(acme):
    holder = SubuserLease(acme.pk)
    assert holder.acquire()

    assert refresh_subuser(acme.pk, False) == "already running"

    assert lease_of(acme)[0] == holder.token
    assert not RefreshRun.objects.exists()
    holder.release()


def approved_push(acme, sg):
    assert bounces_refresh(subuser=acme, full=True, client=sg).outcome == "ok"
    [request] = services.deletion_request_create(
        user=make_user("rita", role="requester"),
        bounces=Bounce.objects.filter(subuser=acme, email__lt="user00005"),
        justification="INC-7 blocklist cleanup",
    )
    services.deletion_approve(request_id=request.pk, user=make_user("arne", role="approver"))
    return request


def test_push_takes_over_from_a_dead_worker_and_closes_its_refresh(acme, sg):
    request = approved_push(acme, sg)
    dead = dead_worker(acme, seconds_left=1.5)

    with pytest.raises(SubuserBusy):
        deletion_push(request_id=request.pk, client=sg)  # without waiting
    assert deletion_push(request_id=request.pk, client=sg, wait=True).state == "done"

    dead.refresh_from_db()
    assert dead.outcome == "failed" and dead.error == WORKER_STOPPED
    assert lease_of(acme) == ("", None)


def test_push_waits_no_longer_than_it_takes_to_see_a_living_holder(acme, sg):
    request = approved_push(acme, sg)
    holder = SubuserLease(acme.pk)
    assert holder.acquire()

    with pytest.raises(SubuserBusy):
        deletion_push(request_id=request.pk, client=sg, wait=True)

    request.refresh_from_db()
    assert request.state == "approved" and request.attempts == 0
    holder.release()


def test_recover_runs_a_dead_workers_refreshes_again(acme, monkeypatch):
    queued = []
    monkeypatch.setattr(bounce_services, "publish", lambda task, *args: queued.append(args))
    dead_worker(acme, seconds_left=-1, kind="full")  # its lease has run out
    beta = Subuser.objects.create(username="beta")
    closed_by_a_push = dead_worker(beta, seconds_left=-1, kind="incremental")
    closed_by_a_push.outcome, closed_by_a_push.error = "failed", WORKER_STOPPED
    closed_by_a_push.save()

    assert recover_interrupted_refreshes() == 1

    assert sorted(queued) == [(acme.pk, True), (beta.pk, False)]
    assert recover_interrupted_refreshes() == 0  # queued now: not again
    assert len(queued) == 2

    # the rerun is killed too: it may be what kills its worker, so it waits for the schedule
    Subuser.objects.filter(pk=acme.pk).update(refresh_queued_at=None)  # it ran: killed again
    dead_worker(acme, seconds_left=-1, kind="full")
    assert recover_interrupted_refreshes() == 1
    assert len(queued) == 2


def test_a_long_write_elsewhere_costs_no_living_holder_its_lease(acme):
    holder = SubuserLease(acme.pk)
    assert holder.acquire()
    other = Subuser.objects.create(username="other")

    with transaction.atomic(), leases_stand_still():
        # On SQLite this holds the database's write lock: the heartbeat waits meanwhile.
        Subuser.objects.filter(pk=other.pk).update(enabled=False)
        time.sleep(3)  # longer than the lease

    assert not SubuserLease(acme.pk).acquire()
    time.sleep(1)
    assert not SubuserLease(acme.pk).acquire()
    assert lease_of(acme)[0] == holder.token and not holder.lost
    holder.release()


def test_pipeline_keeps_its_leases_through_downloads_longer_than_a_lease(upstream, settings):
    settings.REFRESH_LOCK_SECONDS = 1  # renewed every 1/3 s
    for name in ("alpha", "beta", "gamma"):
        upstream.store.add_subuser(name)
        upstream.store.add_bounces(name, [row(i, domain=f"{name}.test") for i in range(1200)])
    subusers_sync()
    upstream.set_latency(300)  # three pages each: about 3 s in all, all begun at once

    client = get_client()
    try:
        runs = list(bounces_refresh_each(Subuser.objects.all(), full=True, client=client))
    finally:
        client.close()

    assert [run.outcome for _, run in runs] == ["ok"] * 3, [run.error for _, run in runs]
    assert not Subuser.objects.exclude(lock_token="").exists()
