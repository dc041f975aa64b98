"""Alerts for the tests of the alerts' pages, made through the ORM as an evaluation would make
them (bounceadmin.alerts.evaluate): one place to switch to a real spike and evaluation."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from bounceadmin.alerts.models import Alert, AlertRule
from bounceadmin.bounces.models import Subuser


def make_rule(name: str = "Sender-fault spike", kind: str = AlertRule.Kind.CLASSIFICATION_SPIKE):
    rule, _ = AlertRule.objects.get_or_create(name=name, defaults={"kind": kind})
    return rule


def make_alert(
    subuser: Subuser,
    *,
    rule: AlertRule | None = None,
    subject: str = "",
    state: str = Alert.State.OPEN,
    since: datetime | None = None,
    until: datetime | None = None,
    details: dict | None = None,
    opened_at: datetime | None = None,
    resolved_at: datetime | None = None,
    summary: str = "",
    value: float = 60,
    baseline: float = 4,
) -> Alert:
    """An alert as the evaluation writes it: `details` names the incident's bounces (subuser,
    classification, domain, fault, since, until as ISO 8601)."""
    rule = rule or make_rule()
    now = timezone.now()
    since = since or now - timedelta(hours=1)
    if details is None:
        details = {"subuser": subuser.username, "since": since.isoformat()}
        if until is not None:
            details["until"] = until.isoformat()
    opened_at = opened_at or since
    return Alert.objects.create(
        rule=rule,
        kind=rule.kind,
        subuser=subuser,
        subject=subject,
        state=state,
        summary=summary or f"{value:g} bounces in the last hour against a usual {baseline:g}",
        since=since,
        value=value,
        baseline=baseline,
        details=details,
        opened_at=opened_at,
        last_seen_at=max(opened_at, now) if state != Alert.State.RESOLVED else opened_at,
        resolved_at=resolved_at or (now if state == Alert.State.RESOLVED else None),
    )


def incident_alert(subuser: Subuser, *, classification: str, domain: str, since: datetime,
                   until: datetime, fault: str | None = None) -> Alert:  # fmt: skip
    """A spike within one classification at one receiving domain, as the evaluation raises it
    (the browser test's incident: the lead swaps this for a sandbox spike and evaluate_alerts)."""
    details = {"subuser": subuser.username, "classification": classification, "domain": domain,
               "since": since.isoformat(), "until": until.isoformat()}  # fmt: skip
    if fault:
        details["fault"] = fault
    return make_alert(
        subuser, subject=f"{classification} at {domain}", since=since, until=until,
        details=details, summary=f"{classification} bounces at {domain}: 60 in the hour",
    )  # fmt: skip
