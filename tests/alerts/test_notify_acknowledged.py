"""An acknowledged alert is not notified any more: a retry of a failed send, or a send that was
lost, skips it (someone is on it)."""

from datetime import timedelta

import pytest
from django.core import mail

import bounceadmin.alerts.notify as notify
from bounceadmin.alerts.evaluate import evaluate_alerts
from bounceadmin.alerts.models import Alert, AlertRule
from bounceadmin.alerts.notify import alert_notify, notifications_due
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


def refuse(alert):
    raise OSError("smtp down")


def test_an_acknowledged_alert_is_not_notified_by_a_retry(
    spike, monkeypatch, django_capture_on_commit_callbacks
):
    with monkeypatch.context() as m:
        m.setitem(notify.SENDERS, "email", refuse)
        with django_capture_on_commit_callbacks(execute=True):
            evaluate_alerts(now=NOW)
    alert = Alert.objects.get()
    assert alert.notify_error and alert.notify_attempts == 1
    Alert.objects.filter(pk=alert.pk).update(state=Alert.State.ACKNOWLEDGED)
    later = NOW + timedelta(minutes=2)
    assert not notifications_due(later).exists()
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_alerts(now=later)
    assert len(mail.outbox) == 0
    alert.refresh_from_db()
    assert alert.notify_attempts == 1


def test_the_claim_skips_an_alert_acknowledged_meanwhile(spike, monkeypatch):
    evaluate_alerts(now=NOW)  # its after-commit send never ran
    alert = Alert.objects.get()
    Alert.objects.filter(pk=alert.pk).update(state=Alert.State.ACKNOWLEDGED)
    assert not alert_notify(alert.pk, now=NOW + timedelta(minutes=5))
    assert len(mail.outbox) == 0
    assert Alert.objects.get().notify_attempts == 0


def test_an_alert_acknowledged_between_reading_and_claiming_is_not_sent(spike, monkeypatch):
    evaluate_alerts(now=NOW)  # its after-commit send never ran
    alert = Alert.objects.get()
    channels_due = notify._channels_due

    def acknowledged_meanwhile(read):
        Alert.objects.filter(pk=read.pk).update(state=Alert.State.ACKNOWLEDGED)
        return channels_due(read)

    monkeypatch.setattr(notify, "_channels_due", acknowledged_meanwhile)
    assert not alert_notify(alert.pk, now=NOW + timedelta(minutes=5))
    assert len(mail.outbox) == 0
    assert Alert.objects.get().notify_attempts == 0
