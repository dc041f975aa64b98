"""Refreshing many subusers in one process, the next download overlapping this write."""

import pytest
from django.db import DatabaseError
from django.db.models import Sum

from bounceadmin.bounces.models import Bounce, BounceActiveCount, RefreshRun, Subuser
from bounceadmin.bounces.refresh import RefreshAlreadyRunning, pipeline
from bounceadmin.bounces.refresh import subuser as subuser_module
from bounceadmin.bounces.refresh.locks import SubuserLease
from bounceadmin.bounces.refresh.pipeline import bounces_refresh_each
from bounceadmin.bounces.subusers import subusers_sync
from tests.bounces.refresh.test_refresh import assert_cache_equals_upstream, row

pytestmark = pytest.mark.django_db

SIZES = {"alpha": 1201, "beta": 3, "gamma": 0, "delta": 640}


@pytest.fixture
def four(upstream):
    for name, n in SIZES.items():
        upstream.store.add_subuser(name)
        upstream.store.add_bounces(name, [row(i, domain=f"{name}.test") for i in range(n)])
    subusers_sync()
    return list(Subuser.objects.filter(username__in=SIZES).order_by("username"))


def free(subuser: Subuser) -> bool:
    subuser.refresh_from_db()
    return subuser.lock_token == "" and subuser.lock_expires_at is None


def test_each_subuser_is_refreshed_as_on_its_own(upstream, four, sg):
    results = list(bounces_refresh_each(four, full=True, client=sg))

    assert [sub.username for sub, _ in results] == [s.username for s in four]
    for sub, run in results:
        assert run.outcome == RefreshRun.Outcome.OK, run.error
        assert run.fetched == run.created == SIZES[sub.username]
        # Pages of 500 that re-read 10 entries of the one before; requests are each run's own.
        assert run.requests == run.pages == max(1, -(-SIZES[sub.username] // 490))
        assert_cache_equals_upstream(upstream, sub)
        assert free(sub)

    again = list(bounces_refresh_each(four, full=True, client=sg))
    assert all((run.created, run.updated, run.removed) == (0, 0, 0) for _, run in again)


def test_a_failing_subuser_fails_alone(upstream, four, sg):
    upstream.store.add_subuser("beta", disabled=True)  # SendGrid now refuses it: 403

    runs = {sub.username: run for sub, run in bounces_refresh_each(four, full=True, client=sg)}

    assert runs["beta"].outcome == RefreshRun.Outcome.FAILED and "beta" in runs["beta"].error
    assert not Bounce.objects.filter(subuser__username="beta").exists()
    for name in ("alpha", "gamma", "delta"):
        assert runs[name].outcome == RefreshRun.Outcome.OK
    assert all(free(sub) for sub in four)


def test_a_subuser_refreshing_elsewhere_is_skipped(upstream, four, sg):
    held = SubuserLease(four[1].pk, seconds=60)
    assert held.acquire()

    results = dict(
        (sub.username, run) for sub, run in bounces_refresh_each(four, full=True, client=sg)
    )

    assert isinstance(results[four[1].username], RefreshAlreadyRunning)
    others = [run for name, run in results.items() if name != four[1].username]
    assert all(run.outcome == RefreshRun.Outcome.OK for run in others)
    four[1].refresh_from_db()
    assert four[1].lock_token == held.token  # untouched
    held.release()


def test_subusers_are_written_together_each_in_a_savepoint(upstream, four, sg, monkeypatch):
    real = subuser_module.reconcile

    def failing_for_beta(subuser, *args, **kwargs):
        changed = real(subuser, *args, **kwargs)  # beta's: written, then undone (savepoint)
        if subuser.username == "beta":
            raise DatabaseError("disk I/O error")
        return changed

    monkeypatch.setattr(subuser_module, "reconcile", failing_for_beta)

    runs = {sub.username: run for sub, run in bounces_refresh_each(four, full=True, client=sg)}

    assert runs["beta"].outcome == RefreshRun.Outcome.FAILED and "disk I/O" in runs["beta"].error
    assert runs["beta"].created == 0
    assert not Bounce.objects.filter(subuser__username="beta").exists()
    for name in ("alpha", "delta"):
        assert runs[name].outcome == RefreshRun.Outcome.OK
        assert Bounce.objects.filter(subuser__username=name).count() == SIZES[name]
    # The summaries were rebuilt with the group: what was written, and nothing of beta.
    counted = dict(
        BounceActiveCount.objects.values("subuser__username")
        .annotate(n=Sum("count"))
        .values_list("subuser__username", "n")
    )
    assert counted == {"alpha": SIZES["alpha"], "delta": SIZES["delta"]}
    assert all(free(sub) for sub in four)


def test_stopping_early_writes_nothing_of_the_refreshes_begun_ahead(
    upstream, four, sg, monkeypatch
):
    monkeypatch.setattr(pipeline, "GROUP_ROWS", 1)  # write each subuser on its own
    each = bounces_refresh_each(four, full=True, client=sg)
    first_sub, first_run = next(each)
    each.close()

    assert first_sub == four[0] and first_run.outcome == RefreshRun.Outcome.OK
    assert Bounce.objects.filter(subuser=four[0]).count() == SIZES[four[0].username]
    for sub in four[1:]:
        # Begun ahead (run recorded, lease taken, maybe downloaded), never written.
        ahead = RefreshRun.objects.get(subuser=sub)
        assert ahead.outcome == RefreshRun.Outcome.FAILED and "Interrupted" in ahead.error
        assert not Bounce.objects.filter(subuser=sub).exists()
    assert all(free(sub) for sub in four)
