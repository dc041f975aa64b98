"""The evaluation task does not send notifications itself: it queues one task per alert, on
commit, and one per retry that is due; each task sends (once, by the claim). The command still
sends in its own process."""

from datetime import timedelta

import pytest
from django.core import mail

import bounceadmin.alerts.notify as notify
from bounceadmin.alerts import tasks
from bounceadmin.alerts.models import Alert, AlertRule
from tests.support.factories import make_subuser

from .helpers import NOW, add_baseline, add_bounces, make_rule

pytestmark = pytest.mark.django_db
Kind = AlertRule.Kind


@pytest.fixture
def spike(settings):
    settings.ALERTS_EMAIL_TO = ["ops@example.com"]
    acme = make_subuser("acme")
    add_baseline(acme, 2)
    add_bounces(acme, 30, at=NOW - timedelta(minutes=5))
    make_rule(Kind.BOUNCE_SPIKE)
    return acme


@pytest.fixture
def published(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks, "publish", lambda task, *args: calls.append((task, args)) or True)
    return calls


def run(calls):
    for task, args in calls:
        task.run(*args)
    calls.clear()


def test_the_evaluation_task_queues_the_notification_instead_of_sending_it(
    spike, published, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("bounceadmin.alerts.evaluate.timezone.now", lambda: NOW)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.evaluate_alerts.run()
    alert = Alert.objects.get()
    assert len(mail.outbox) == 0 and alert.notify_attempts == 0
    assert published == [(tasks.notify_alert, (alert.pk,))]
    run(published)
    assert len(mail.outbox) == 1
    assert Alert.objects.get().notified_at is not None
    # A second task for the same alert (queued twice) sends nothing more.
    assert not tasks.notify_alert.run(alert.pk)
    assert len(mail.outbox) == 1


def test_a_due_retry_is_queued_too(
    spike, published, monkeypatch, django_capture_on_commit_callbacks
):
    down, email = [True], notify.SENDERS["email"]

    def email_while_down(alert):
        if down:
            raise OSError("smtp down")
        email(alert)

    monkeypatch.setitem(notify.SENDERS, "email", email_while_down)
    clock = [NOW]
    monkeypatch.setattr("django.utils.timezone.now", lambda: clock[0])
    with django_capture_on_commit_callbacks(execute=True):
        tasks.evaluate_alerts.run()
    run(published)
    alert = Alert.objects.get()
    assert (alert.notify_attempts, alert.notified_at) == (1, None)
    down.clear()
    clock[0] = NOW + timedelta(minutes=2)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.evaluate_alerts.run()
    assert published == [(tasks.notify_alert, (alert.pk,))]
    assert len(mail.outbox) == 0
    run(published)
    assert len(mail.outbox) == 1


def test_a_broker_that_is_down_loses_no_notification(
    spike, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(tasks, "publish", lambda task, *args: False)
    monkeypatch.setattr("bounceadmin.alerts.evaluate.timezone.now", lambda: NOW)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.evaluate_alerts.run()
    assert len(mail.outbox) == 0
    assert notify.notifications_due(NOW + timedelta(minutes=5)).count() == 1
