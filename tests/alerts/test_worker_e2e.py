"""End to end through a real Celery worker: deliveries of the Event Webhook that make a spike
are applied by the worker, which then evaluates the rules and opens the alert."""

import time

import pytest

from bounceadmin.alerts.models import Alert, AlertRule
from tests.support.factories import make_subuser
from tests.support.webhooks import SigningKey, body_of, bounce_event, make_endpoint
from tests.support.workers import purge_broker, start_worker, stop_worker, worker_env

from .helpers import make_rule

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def wait_for(predicate, *, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_a_spike_delivered_by_the_webhook_opens_an_alert(client, upstream, tmp_path):
    key = SigningKey()
    acme = make_subuser("acme")
    endpoint = make_endpoint(acme, key)
    make_rule(AlertRule.Kind.BOUNCE_SPIKE, min_count=25)
    purge_broker()
    worker = start_worker(worker_env(upstream), tmp_path / "worker.log")
    try:
        events = [bounce_event(f"u{i}@example.com") for i in range(30)]
        for chunk in (events[:10], events[10:]):
            body = body_of(chunk)
            response = client.post(endpoint.path, body, "application/json", **key.headers(body))
            assert response.status_code == 200
        wait_for(lambda: Alert.objects.exists(), what="the worker to open the alert")
    finally:
        stop_worker(worker)
    alert = Alert.objects.get()
    assert (alert.subuser, alert.kind, alert.state, alert.value) == (acme, "bounce_spike",
                                                                     "open", 30)  # fmt: skip
