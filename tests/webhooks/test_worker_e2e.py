"""Deliveries applied by a real Celery worker: a batch stored while no worker runs, or whose task
was lost, is applied once a worker is there; nothing is lost and nothing applied twice."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.bounces.models import Bounce
from bounceadmin.webhooks.models import WebhookBatch, WebhookEvent
from bounceadmin.webhooks.tasks import apply_forgotten_batches
from tests.support.factories import make_subuser
from tests.support.webhooks import SigningKey, body_of, bounce_event, make_endpoint
from tests.support.workers import purge_broker, start_worker, stop_worker, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def wait_for(predicate, *, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def acme():
    key = SigningKey()
    endpoint = make_endpoint(make_subuser("acme"), key)
    return endpoint, key


def post(client, endpoint, key, events):
    body = body_of(events)
    response = client.post(endpoint.path, body, "application/json", **key.headers(body))
    assert response.status_code == 200


def test_deliveries_made_while_no_worker_runs_are_applied_once_one_starts(
    client, acme, upstream, tmp_path
):
    endpoint, key = acme
    purge_broker()
    events = [bounce_event(f"u{i}@example.com") for i in range(50)]
    post(client, endpoint, key, events[:30])
    post(client, endpoint, key, events[20:])  # overlapping: 10 events delivered twice
    assert not Bounce.objects.exists()  # stored, not applied: no worker yet
    worker = start_worker(worker_env(upstream), tmp_path / "worker.log")
    try:
        wait_for(lambda: Bounce.objects.count() == 50, what="the worker to apply both batches")
        wait_for(lambda: not WebhookBatch.objects.filter(state="pending").exists())
    finally:
        stop_worker(worker)
    assert WebhookEvent.objects.count() == 50


def test_a_batch_whose_task_was_lost_is_swept_up(client, acme, upstream, tmp_path):
    endpoint, key = acme
    post(client, endpoint, key, [bounce_event("lost@example.com")])
    purge_broker()  # the task is gone (a broker that lost it, a worker killed holding it)
    WebhookBatch.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    worker = start_worker(worker_env(upstream), tmp_path / "worker.log")
    try:
        assert apply_forgotten_batches() == 1  # beat's sweeper, once
        wait_for(lambda: Bounce.objects.filter(email="lost@example.com").exists())
    finally:
        stop_worker(worker)
    assert WebhookBatch.objects.get().state == "applied"
