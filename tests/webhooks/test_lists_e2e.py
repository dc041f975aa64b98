"""End to end: a spam report and a group unsubscribe added in the sandbox are posted, signed, to
the dashboard's webhook (set up in the sandbox over HTTP), received by the web process and
applied by a real Celery worker to the other lists."""

import time

import pytest
import requests

from bounceadmin.suppressions.models import Suppression, SuppressionListState
from bounceadmin.webhooks.models import WebhookBatch, WebhookEvent
from bounceadmin.webhooks.setup import webhook_set_up
from tests.support.factories import make_subuser

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def wait_for(predicate, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_spam_report_added_in_the_sandbox_arrives_and_is_applied(
    live_server, upstream, celery_worker_process
):
    upstream.store.add_subuser("acme")
    acme = make_subuser("acme")
    assert not webhook_set_up(acme, public_url=live_server.url).failed
    control = f"{upstream.url}/_sandbox"
    config = {"interval": 0.2, "duplicate_rate": 1}  # every batch twice: applied once
    requests.post(f"{control}/webhooks/config", json=config, timeout=5).raise_for_status()
    for body in (
        {"list": "spam_reports", "entries": [{"email": "Spam@Example.com", "ip": "192.0.2.8"}]},
        {"list": "group_unsubscribes", "group": "Newsletter",
         "entries": [{"email": "news@example.com"}]},
    ):  # fmt: skip
        added = requests.post(f"{control}/lists", json={"subuser": "acme", **body}, timeout=5)
        added.raise_for_status()

    wait_for(lambda: Suppression.objects.filter(subuser=acme).count() == 2, "both entries")
    spam = Suppression.objects.get(subuser=acme, list="spam_reports")
    assert (spam.email, spam.ip, spam.removed_at) == ("spam@example.com", "192.0.2.8", None)
    group = Suppression.objects.get(subuser=acme, list="group_unsubscribes").group
    [upstream_group] = upstream.store.lists.groups.groups("acme")
    assert group.upstream_id == upstream_group["id"]
    assert SuppressionListState.objects.get(subuser=acme, list="spam_reports").active == 1
    # Every batch was posted twice: once both copies of each are applied, each event counted once.
    batches = WebhookBatch.objects.all()

    def all_applied() -> bool:
        posted = [a for a in upstream.delivery.attempts() if a["ok"]]
        return (
            len(posted) >= 2
            and any(a["duplicate"] for a in posted)
            and (batches.count() == len(posted) and not batches.exclude(state="applied").exists())
        )

    wait_for(all_applied, "the duplicate deliveries applied")
    assert sorted(WebhookEvent.objects.values_list("event", "outcome")) == [
        ("group_unsubscribe", "created"),
        ("spamreport", "created"),
    ]
