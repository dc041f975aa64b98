"""Queueing the application of batches: one task per subuser however many deliveries arrive,
a new one once it runs, and the sweeper for batches no task applied."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.webhooks import tasks
from bounceadmin.webhooks.models import WebhookBatch
from tests.support.factories import make_subuser

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks, "publish", lambda task, *args: calls.append(args) or True)
    return calls


def test_a_burst_of_deliveries_queues_one_task_per_subuser(published):
    for _ in range(5):
        tasks.apply_batches_soon(1)
    tasks.apply_batches_soon(2)
    assert published == [(1,), (2,)]


def test_a_running_task_lets_the_next_delivery_queue_another(published):
    subuser = make_subuser("acme")
    tasks.apply_batches_soon(subuser.pk)
    tasks.apply_batches.run(subuser.pk)  # nothing pending: applies nothing
    tasks.apply_batches_soon(subuser.pk)
    assert published == [(subuser.pk,), (subuser.pk,)]


def test_a_failed_publish_does_not_block_the_next(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks, "publish", lambda task, *args: calls.append(args) and False)
    tasks.apply_batches_soon(1)
    tasks.apply_batches_soon(1)
    assert calls == [(1,), (1,)]


def test_the_sweeper_queues_only_batches_left_waiting(published):
    acme, beta = make_subuser("acme"), make_subuser("beta")
    old = timezone.now() - timedelta(minutes=2)
    WebhookBatch.objects.create(subuser=acme, received_at=old, body="[]")
    WebhookBatch.objects.create(subuser=acme, received_at=old, body="[]")
    WebhookBatch.objects.create(subuser=beta, received_at=timezone.now(), body="[]")  # just in
    WebhookBatch.objects.create(
        subuser=beta, received_at=old, body="[]", state=WebhookBatch.State.APPLIED
    )
    assert tasks.apply_forgotten_batches() == 1
    assert published == [(acme.pk,)]
