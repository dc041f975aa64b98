"""An EU subuser refreshed and set up by a real Celery worker, whose settings (from its
environment, as in production) name both of the sandbox's hosts: its calls go to the EU host."""

import time

import pytest

from bounceadmin.bounces.models import Bounce, RefreshRun, Subuser
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.bounces.tasks import refresh_subuser
from bounceadmin.suppressions.models import Suppression
from bounceadmin.webhooks.models import WebhookEndpoint
from bounceadmin.webhooks.tasks import set_up_webhook

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def wait_for(predicate, *, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_a_worker_refreshes_and_sets_up_an_eu_subuser_through_the_eu_host(
    upstream, celery_worker_process
):
    upstream.store.add_subuser("paris", region="eu")
    upstream.store.add_bounces(
        "paris", [{"email": f"p{i}@example.com", "created": 1_700_000_000 + i} for i in range(4)]
    )
    upstream.store.lists.add(
        "blocks", "paris", [{"email": "b@example.com", "created": 1_700_000_000, "reason": "550",
                             "status": "5.7.1"}],
    )  # fmt: skip
    subusers_sync()
    paris = Subuser.objects.get(username="paris")

    refresh_subuser.delay(paris.pk, True)
    wait_for(
        lambda: RefreshRun.objects.filter(subuser=paris, outcome="ok").count() == 6,
        what=f"the bounce and five list refreshes; worker log: {celery_worker_process.log_path}",
    )
    set_up_webhook.delay(paris.pk, "https://dashboard.example")
    wait_for(
        lambda: WebhookEndpoint.objects.filter(subuser=paris).exclude(set_up_at=None).exists(),
        what="the webhook set-up",
    )

    assert Bounce.objects.filter(subuser=paris).count() == 4
    assert Suppression.objects.filter(subuser=paris, list="blocks").count() == 1
    assert not RefreshRun.objects.filter(subuser=paris, outcome="failed").exists()
    assert len(upstream.store.webhooks.list_for("paris")) == 1
    mine = [r for r in upstream.requests if r["on_behalf_of"] == "paris"]
    assert mine and {r["region"] for r in mine} == {"eu"}
