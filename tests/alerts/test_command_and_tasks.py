"""`manage.py evaluate_alerts`, the task on beat's schedule, and the evaluations queued after
each applied webhook batch and each refresh, one for a burst."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from bounceadmin.alerts import tasks
from bounceadmin.alerts.models import Alert, AlertRule
from bounceadmin.webhooks import tasks as webhook_tasks
from bounceadmin.webhooks.models import WebhookBatch
from tests.support.factories import make_subuser
from tests.support.webhooks import SigningKey, body_of, bounce_event, make_endpoint

from .helpers import add_bounces, make_rule

pytestmark = pytest.mark.django_db


def test_the_command_evaluates_and_prints_the_open_alerts():
    acme = make_subuser("acme")
    add_bounces(acme, 30, at=timezone.now() - timedelta(minutes=2), domain="gmail.com")
    add_bounces(acme, 25, at=timezone.now() - timedelta(minutes=2), domain="bad\x1b[2Jhost")
    make_rule(AlertRule.Kind.DOMAIN_SPIKE, min_count=20)
    out = StringIO()
    call_command("evaluate_alerts", stdout=out)
    first, *lines = out.getvalue().splitlines()
    assert first == "Evaluated: 2 opened, 0 still open, 0 resolved, 0 in cooldown."
    gmail = Alert.objects.get(subject="gmail.com")
    [line] = [line for line in lines if line.startswith(f"#{gmail.pk} ")]
    assert line.startswith(f"#{gmail.pk} open domain_spike acme gmail.com since ")
    assert "Bounces at gmail.com spike for acme: 30 bounces in the last hour" in line
    [other] = [each for each in lines if each != line]
    assert "bad?[2Jhost" in other and "\x1b" not in other  # no escape sequence gets through
    assert len(lines) == 2
    out = StringIO()
    call_command("evaluate_alerts", stdout=out)
    assert out.getvalue().splitlines()[0].startswith("Evaluated: 0 opened, 2 still open")
    assert Alert.objects.count() == 2


def test_the_command_says_when_nothing_is_open():
    out = StringIO()
    call_command("evaluate_alerts", stdout=out)
    assert out.getvalue().splitlines()[1] == "No open alerts."


def test_beat_evaluates_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["evaluate-alerts"]
    assert entry["task"] == tasks.evaluate_alerts.name == "bounceadmin.alerts.tasks.evaluate_alerts"
    assert entry["schedule"] == 60.0


@pytest.fixture
def published(monkeypatch):
    """What is put on the broker (the worker end-to-end test runs it for real)."""
    calls = []
    monkeypatch.setattr(tasks, "publish", lambda task, *args: calls.append(task.name) or True)
    return calls


def batch(subuser, body: bytes) -> None:
    WebhookBatch.objects.create(
        subuser=subuser, body=body.decode(), events=1, received_at=timezone.now()
    )


def test_an_applied_webhook_batch_queues_one_evaluation(published):
    key = SigningKey()
    acme = make_subuser("acme")
    make_endpoint(acme, key)
    for n in range(3):
        body = body_of([bounce_event(f"u{n}@example.com")])
        batch(acme, body)
    assert webhook_tasks.apply_batches.run(acme.pk) == 3
    assert published == [tasks.evaluate_alerts.name]
    # Another batch while that evaluation is still queued: no second one.
    batch(acme, body_of([bounce_event("x@example.com")]))
    webhook_tasks.apply_batches.run(acme.pk)
    assert published == [tasks.evaluate_alerts.name]
    # Once it runs, the next batch queues another.
    tasks.evaluate_alerts.run()
    batch(acme, body_of([bounce_event("y@example.com")]))
    webhook_tasks.apply_batches.run(acme.pk)
    assert published == [tasks.evaluate_alerts.name] * 2


def test_nothing_applied_queues_nothing(published):
    acme = make_subuser("acme")
    assert webhook_tasks.apply_batches.run(acme.pk) == 0
    assert published == []


def test_a_failed_publish_lets_the_next_try(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks, "publish", lambda task, *args: calls.append(1) and False)
    tasks.evaluate_alerts_soon()
    tasks.evaluate_alerts_soon()
    assert calls == [1, 1]
    assert cache.get(tasks.QUEUED_FLAG) is None


@pytest.mark.django_db(transaction=True)  # the refresh's lease heartbeat has its connection
def test_a_refresh_queues_an_evaluation(published, upstream):
    from bounceadmin.bounces.models import Subuser
    from bounceadmin.bounces.subusers import subusers_sync
    from bounceadmin.bounces.tasks import refresh_subuser

    upstream.store.add_subuser("acme")
    subusers_sync()
    assert refresh_subuser.run(Subuser.objects.get(username="acme").pk) == "ok"
    assert published == [tasks.evaluate_alerts.name]
