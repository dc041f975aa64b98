"""Evaluations that overlap: one that read its findings earlier and applies them later never
undoes what a newer one saw (resolving a fresh alert, which the cooldown would then hide)."""

from datetime import timedelta

import pytest

from bounceadmin.alerts.evaluate import Evaluation, _rule_apply, evaluate_alerts
from bounceadmin.alerts.models import Alert, AlertRule
from bounceadmin.alerts.rules import rule_findings
from tests.support.factories import make_subuser

from .helpers import NOW, add_baseline, add_bounces, make_rule

pytestmark = pytest.mark.django_db
Kind = AlertRule.Kind


@pytest.fixture
def burst():
    acme = make_subuser("acme")
    add_baseline(acme, 2)
    add_bounces(acme, 30, at=NOW - timedelta(minutes=1))
    return acme


def test_an_older_evaluation_applied_late_does_not_resolve_a_fresh_alert(burst):
    rule = make_rule(Kind.BOUNCE_SPIKE)
    # A reads its findings before the burst...
    stale_now = NOW - timedelta(minutes=3)
    stale = rule_findings(rule, now=stale_now)
    assert stale == []
    # ...B, after the webhook batch, opens the alert...
    assert len(evaluate_alerts(now=NOW).opened) == 1
    # ...then A gets the rule's lock and applies what it read: skipped.
    result = Evaluation()
    _rule_apply(rule, stale, now=stale_now, result=result)
    assert (result.opened, result.updated, result.resolved) == ([], [], [])
    alert = Alert.objects.get()
    assert (alert.state, alert.last_seen_at, alert.resolved_at) == ("open", NOW, None)
    # The next evaluation still sees the incident (no resolve, no cooldown).
    later = evaluate_alerts(now=NOW + timedelta(minutes=1))
    assert (later.opened, later.updated, later.resolved) == ([], [alert.pk], [])


def test_an_older_evaluation_never_moves_last_seen_backwards(burst):
    make_rule(Kind.BOUNCE_SPIKE)
    evaluate_alerts(now=NOW)
    result = evaluate_alerts(now=NOW - timedelta(seconds=30))
    assert (result.opened, result.updated, result.resolved) == ([], [], [])
    assert Alert.objects.get().last_seen_at == NOW
    assert AlertRule.objects.get().last_evaluated_at == NOW


def test_the_rules_findings_are_read_under_its_lock(burst, monkeypatch):
    """The findings are read after the rule's row is locked, with a `now` taken then."""
    import bounceadmin.alerts.evaluate as evaluate

    order = []
    lock = evaluate._rule_lock
    findings = evaluate.rule_findings
    monkeypatch.setattr(evaluate, "_rule_lock", lambda rule: order.append("lock") or lock(rule))
    monkeypatch.setattr(
        evaluate,
        "rule_findings",
        lambda rule, now: order.append("findings") or findings(rule, now=now),
    )
    make_rule(Kind.BOUNCE_SPIKE)
    evaluate_alerts()
    assert order[:2] == ["lock", "findings"]
