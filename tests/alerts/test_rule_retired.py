"""A rule that is disabled, or whose kind changes, no longer watches what its alerts saw: they
resolve, audited with the reason."""

from datetime import timedelta

import pytest

from bounceadmin.alerts.evaluate import evaluate_alerts
from bounceadmin.alerts.models import Alert, AlertRule
from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.classification import Fault
from tests.support.adminforms import submit
from tests.support.factories import make_subuser, make_user

from .helpers import NOW, add_baseline, add_bounces, make_rule

pytestmark = pytest.mark.django_db
Kind = AlertRule.Kind


@pytest.fixture
def spike():
    acme = make_subuser("acme")
    add_baseline(acme, 2)
    add_bounces(acme, 30, at=NOW - timedelta(minutes=5))
    return acme


def test_a_disabled_rules_alerts_resolve_audited(spike):
    rule = make_rule(Kind.BOUNCE_SPIKE)
    evaluate_alerts(now=NOW)
    alert = Alert.objects.get()
    Alert.objects.filter(pk=alert.pk).update(state=Alert.State.ACKNOWLEDGED)
    rule.enabled = False
    rule.save()
    later = NOW + timedelta(minutes=1)
    result = evaluate_alerts(now=later)
    assert result.resolved == [alert.pk]
    alert.refresh_from_db()
    assert (alert.state, alert.resolved_at) == ("resolved", later)
    event = AuditEvent.objects.get(action="alert.resolved")
    assert event.details["reason"] == "rule disabled"
    assert event.details["before"] == {"state": "acknowledged"}
    # Once: the next evaluation has nothing of it left to resolve, and opens nothing.
    again = evaluate_alerts(now=later + timedelta(minutes=1))
    assert (again.opened, again.resolved) == ([], [])


def test_the_rules_kind_changed_in_the_admin_resolves_its_alerts(client, spike):
    client.force_login(make_user("boss", role="admin", is_staff=True))
    rule = make_rule(Kind.BOUNCE_SPIKE, name="Spikes")
    evaluate_alerts(now=NOW)
    alert = Alert.objects.get()
    response = submit(client, f"/admin/alerts/alertrule/{rule.pk}/change/",
                      kind="sender_fault_share")  # fmt: skip
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == "resolved"
    event = AuditEvent.objects.get(action="alert.resolved")
    assert event.details["reason"] == "rule kind changed"


def test_an_alert_of_the_rules_former_kind_is_not_updated_by_the_new_kind():
    acme = make_subuser("acme")
    add_baseline(acme, 2)
    add_bounces(acme, 30, at=NOW - timedelta(minutes=5), fault=Fault.SENDER)
    rule = make_rule(Kind.BOUNCE_SPIKE)
    evaluate_alerts(now=NOW)
    old = Alert.objects.get()
    # The same subuser and subject ("") under the new kind: not the same incident.
    AlertRule.objects.filter(pk=rule.pk).update(kind=Kind.SENDER_FAULT_SHARE)  # not the admin
    result = evaluate_alerts(now=NOW + timedelta(minutes=1))
    assert old.pk in result.resolved
    old.refresh_from_db()
    assert (old.state, old.kind) == ("resolved", "bounce_spike")
    new = Alert.objects.exclude(pk=old.pk).get()
    assert (new.kind, new.state) == ("sender_fault_share", "open")


def test_a_rule_that_raised_alerts_is_not_deleted_and_the_admin_says_to_disable_it(client, spike):
    client.force_login(make_user("boss", role="admin", is_staff=True))
    rule = make_rule(Kind.BOUNCE_SPIKE, name="Spikes")
    evaluate_alerts(now=NOW)
    url = f"/admin/alerts/alertrule/{rule.pk}/delete/"
    page = client.get(url)
    assert page.status_code == 200
    assert "disable it instead" in page.content.decode()
    client.post(url, {"post": "yes"})
    assert AlertRule.objects.filter(pk=rule.pk).exists()
    assert Alert.objects.filter(rule=rule).count() == 1
    assert not AuditEvent.objects.filter(action="alert.rule_changed").exists()
