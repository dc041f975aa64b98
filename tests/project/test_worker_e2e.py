import time

import pytest

from bounceadmin.bounces.models import Bounce, RefreshRun, Subuser
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.bounces.tasks import refresh_all
from bounceadmin.suppressions.models import Suppression

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def seed(upstream, **counts: int) -> None:
    """Subusers upstream with that many bounces each, imported here."""
    for name, n in counts.items():
        upstream.store.add_subuser(name)
        upstream.store.add_bounces(
            name,
            [{"email": f"u{i}@example.com", "status": "5.1.1", "reason": "550 5.1.1 unknown",
              "created": 1_700_000_000 + i} for i in range(n)],
        )  # fmt: skip
    subusers_sync()


def wait_for(predicate, *, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_refresh_all_runs_on_a_real_celery_worker(upstream, celery_worker_process):
    seed(upstream, alpha=1201, beta=40)
    upstream.store.lists.add(
        "blocks", "alpha", [{"email": f"b{i}@example.com", "created": 1_700_000_000, "reason":
                             "550 blocked", "status": "5.7.1"} for i in range(3)]
    )  # fmt: skip

    refresh_all.delay(full=True)

    def finished():
        # Each subuser's bounces, then its five other lists, one run each.
        return RefreshRun.objects.filter(outcome="ok").count() == 2 * 6

    wait_for(finished, what=f"two refreshes; worker log:\n{celery_worker_process.log_path}")
    assert Bounce.objects.filter(subuser__username="alpha").count() == 1201
    assert Bounce.objects.filter(subuser__username="beta").count() == 40
    blocks = Suppression.objects.filter(subuser__username="alpha", list="blocks")
    assert sorted(blocks.values_list("email", flat=True)) == [f"b{i}@example.com" for i in range(3)]
    behalf = {r["on_behalf_of"] for r in upstream.requests if r["path"].startswith("/v3/supp")}
    assert behalf == {"alpha", "beta"}
    assert not Subuser.objects.exclude(refresh_queued_at=None).exists()


def test_refresh_bounces_enqueue_waits_for_the_workers(upstream, celery_worker_process):
    from io import StringIO

    from django.core.management import call_command

    seed(upstream, alpha=3, beta=2)
    out = StringIO()

    call_command("refresh_bounces", "--enqueue", "--full", "--timeout", "60", stdout=out)

    text = out.getvalue()
    assert "alpha: fetched 3, created 3, updated 0, removed 0" in text
    assert "beta: fetched 2, created 2, updated 0, removed 0" in text
    assert Bounce.objects.count() == 5
