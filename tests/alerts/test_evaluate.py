"""Evaluation: one alert per rule and subject however often it runs, kept up to date, resolved
when the rule no longer sees it, quiet through the cooldown, audited; acknowledging is never
undone."""

from datetime import timedelta

import pytest

from bounceadmin.alerts.evaluate import evaluate_alerts
from bounceadmin.alerts.models import Alert, AlertRule
from bounceadmin.audit.models import AuditEvent
from tests.support.factories import make_subuser

from .helpers import NOW, add_baseline, add_bounces, make_rule

pytestmark = pytest.mark.django_db
Kind = AlertRule.Kind


@pytest.fixture
def spike():
    acme = make_subuser("acme")
    add_baseline(acme, 5)
    add_bounces(acme, 30, at=NOW - timedelta(minutes=10))
    return acme


def test_repeated_evaluation_keeps_one_alert_up_to_date(spike):
    rule = make_rule(Kind.BOUNCE_SPIKE, min_count=20)
    first = evaluate_alerts(now=NOW)
    assert len(first.opened) == 1
    alert = Alert.objects.get()
    assert (alert.state, alert.value, alert.baseline, alert.rule, alert.kind) == (
        "open", 30, 5, rule, "bounce_spike"
    )  # fmt: skip
    add_bounces(spike, 10, at=NOW + timedelta(minutes=4))
    later = NOW + timedelta(minutes=5)
    for _ in range(3):
        again = evaluate_alerts(now=later)
        assert (again.opened, again.updated, again.resolved) == ([], [alert.pk], [])
    alert.refresh_from_db()
    assert Alert.objects.count() == 1
    assert (alert.value, alert.last_seen_at, alert.opened_at) == (40, later, NOW)
    # The link keeps the incident's start; its end moves on.
    assert alert.details["since"] == (NOW - timedelta(minutes=10, seconds=30)).isoformat()
    assert alert.details["until"] == later.isoformat()
    assert AuditEvent.objects.filter(action="alert.opened").count() == 1


def test_an_alert_resolves_when_the_rule_no_longer_sees_it_then_cools_down(spike):
    make_rule(Kind.BOUNCE_SPIKE, min_count=20, cooldown_minutes=60)
    evaluate_alerts(now=NOW)
    alert = Alert.objects.get()
    # An hour and a quarter later the spike has left the window.
    quiet = NOW + timedelta(minutes=75)
    result = evaluate_alerts(now=quiet)
    assert result.resolved == [alert.pk]
    alert.refresh_from_db()
    assert (alert.state, alert.resolved_at) == ("resolved", quiet)
    event = AuditEvent.objects.get(action="alert.resolved")
    assert event.subuser == "acme"
    assert event.details["before"] == {"state": "open"}
    assert event.details["after"] == {"state": "resolved"}
    assert event.actor is None  # the system
    # It comes back within the cooldown: no new alert yet.
    add_bounces(spike, 30, at=quiet + timedelta(minutes=10))
    assert evaluate_alerts(now=quiet + timedelta(minutes=20)).cooling == 1
    assert Alert.objects.count() == 1
    # After it: a new alert for the same rule and subuser.
    result = evaluate_alerts(now=quiet + timedelta(minutes=61))
    assert len(result.opened) == 1
    assert Alert.objects.filter(state="open").count() == 1
    assert Alert.objects.count() == 2


def test_evaluation_never_undoes_an_acknowledgement_but_still_resolves_it(spike):
    make_rule(Kind.BOUNCE_SPIKE, min_count=20)
    evaluate_alerts(now=NOW)
    Alert.objects.update(state="acknowledged", acknowledged_at=NOW, ack_comment="on it")
    evaluate_alerts(now=NOW + timedelta(minutes=1))
    alert = Alert.objects.get()
    assert (alert.state, alert.ack_comment) == ("acknowledged", "on it")
    evaluate_alerts(now=NOW + timedelta(minutes=90))
    alert.refresh_from_db()
    assert alert.state == "resolved"
    event = AuditEvent.objects.get(action="alert.resolved")
    assert event.details["before"] == {"state": "acknowledged"}


def test_the_opened_alert_is_audited_with_what_it_saw(spike):
    make_rule(Kind.BOUNCE_SPIKE, name="Spikes", min_count=20)
    evaluate_alerts(now=NOW)
    event = AuditEvent.objects.get(action="alert.opened")
    assert event.subuser == "acme"
    assert event.details["rule"] == "Spikes"
    assert event.details["before"] is None
    assert event.details["after"]["state"] == "open"
    assert event.details["after"]["value"] == 30


def test_a_rule_that_fails_does_not_stop_the_others(spike, monkeypatch):
    from bounceadmin.alerts import rules

    make_rule(Kind.BOUNCE_SPIKE, min_count=20)
    broken = make_rule(Kind.DOMAIN_SPIKE, name="broken", min_count=20)

    def fails(rule, *, now):
        raise RuntimeError("boom")

    monkeypatch.setitem(rules.RULES, Kind.DOMAIN_SPIKE, fails)
    result = evaluate_alerts(now=NOW)
    assert result.failed_rules == ["broken"]
    assert Alert.objects.get().rule.kind == "bounce_spike"
    assert not Alert.objects.filter(rule=broken).exists()


def test_a_disabled_rule_raises_nothing(spike):
    make_rule(Kind.BOUNCE_SPIKE, min_count=20, enabled=False)
    evaluate_alerts(now=NOW)
    assert not Alert.objects.exists()


def test_separate_subjects_make_separate_alerts():
    acme = make_subuser("acme")
    add_bounces(acme, 25, at=NOW - timedelta(minutes=1), domain="gmail.com")
    add_bounces(acme, 25, at=NOW - timedelta(minutes=1), domain="yahoo.com")
    make_rule(Kind.DOMAIN_SPIKE, min_count=20)
    evaluate_alerts(now=NOW)
    evaluate_alerts(now=NOW)
    assert sorted(Alert.objects.values_list("subject", flat=True)) == ["gmail.com", "yahoo.com"]
