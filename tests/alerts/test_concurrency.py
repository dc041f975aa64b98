"""Two evaluations at once (two beat processes, a worker after a webhook batch) open each
alert once, audit it once and notify it once."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection

from bounceadmin.alerts import evaluate as evaluation
from bounceadmin.alerts.evaluate import evaluate_alerts
from bounceadmin.alerts.models import Alert, AlertRule
from bounceadmin.alerts.rules import Finding
from bounceadmin.audit.models import AuditEvent
from tests.support.factories import make_subuser

from .helpers import NOW, add_bounces, make_rule

DOMAINS = [f"d{i}.example" for i in range(20)]


def run_at_once(count: int, target) -> list:
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # reported below, with the thread's error
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_two_evaluations_at_once_open_each_alert_once(settings):
    settings.ALERTS_EMAIL_TO = ["ops@example.com"]
    AlertRule.objects.all().delete()
    acme = make_subuser("acme")
    for domain in DOMAINS:
        add_bounces(acme, 20, at=NOW - timedelta(minutes=1), domain=domain)
    make_rule(AlertRule.Kind.DOMAIN_SPIKE, min_count=20)
    make_rule(AlertRule.Kind.BOUNCE_SPIKE, min_count=20)
    for round_ in range(3):
        Alert.objects.all().delete()
        mail.outbox.clear()
        results = run_at_once(2, lambda: evaluate_alerts(now=NOW))
        opened = [pk for result in results for pk in result.opened]
        assert len(opened) == len(set(opened)) == len(DOMAINS) + 1, round_
        assert Alert.objects.count() == len(DOMAINS) + 1
        assert AuditEvent.objects.filter(action="alert.opened").count() == (round_ + 1) * 21
        assert len(mail.outbox) == 21  # one each, by whichever evaluation opened it
        assert Alert.objects.filter(notified_at__isnull=False).count() == 21
    # Resolving at once: each resolved once.
    results = run_at_once(2, lambda: evaluate_alerts(now=NOW + timedelta(hours=3)))
    resolved = [pk for result in results for pk in result.resolved]
    assert len(resolved) == len(set(resolved)) == 21
    assert AuditEvent.objects.filter(action="alert.resolved").count() == 21


@pytest.mark.django_db
def test_an_alert_opened_meanwhile_is_not_opened_twice():
    """What the rule's lock serialises, the partial unique constraint also refuses."""
    AlertRule.objects.all().delete()
    acme = make_subuser("acme")
    rule = make_rule(AlertRule.Kind.BOUNCE_SPIKE)
    finding = Finding(acme.pk, "", NOW, 30, 5, "spike", {"subuser": "acme"})
    first, second = evaluation.Evaluation(), evaluation.Evaluation()
    evaluation._open(rule, [finding], now=NOW, result=first)
    evaluation._open(rule, [finding], now=NOW, result=second)
    assert (len(first.opened), second.opened) == (1, [])
    assert Alert.objects.count() == 1
