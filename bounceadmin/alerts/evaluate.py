"""Evaluating the rules: open an alert for each new incident, keep the open ones up to date,
resolve those the rules no longer see, and notify the new ones once.

Idempotent, also when two evaluations run at once (two beat processes, a worker after a
webhook batch): each rule's alerts are written in one transaction holding the rule's row
(`select_for_update`; on SQLite the IMMEDIATE transaction's write lock does the same), and the
partial unique constraint "one unresolved alert per rule, subuser and subject" refuses what
slipped past. Writes touch only the fields evaluation owns, never the state an operator set by
acknowledging; an acknowledged alert still resolves by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.bounces.models import Subuser

from .models import Alert, AlertRule
from .notify import alert_notify, notifications_due
from .rules import Finding, rule_findings

log = logging.getLogger(__name__)

# How an evaluation has an alert notified: send(alert_id, now).
Send = Callable[[int, datetime], None]

# Why an alert resolved other than by its rule no longer seeing it (the audit's "reason").
DISABLED = "rule disabled"
KIND_CHANGED = "rule kind changed"


@dataclass
class Evaluation:
    """What one evaluation changed (alerts' ids)."""

    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    cooling: int = 0  # incidents not raised again yet (cooldown)
    failed_rules: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (
            f"{len(self.opened)} opened, {len(self.updated)} still open, "
            f"{len(self.resolved)} resolved, {self.cooling} in cooldown"
        )
        if self.failed_rules:
            text += f"; rules that failed: {', '.join(self.failed_rules)}"
        return text


def evaluate_alerts(now: datetime | None = None, *, send: Send | None = None) -> Evaluation:
    """Run every enabled rule once, and resolve the alerts of disabled rules; returns what
    changed. A rule that fails is logged and skipped (the others still run); its alerts stay as
    they were. Each rule's findings are read under its lock, at `now` or the time then.

    `send(alert_id, now)` notifies an alert, after the commit that opened it; by default here,
    in this process (`manage.py evaluate_alerts`); the Celery task queues a task per alert
    instead, so that channels that are down never hold up the evaluation."""
    send = send or notify_inline
    fixed = now
    result = Evaluation()
    for rule in AlertRule.objects.filter(enabled=True).prefetch_related("subusers"):
        try:
            _rule_evaluate(rule, now=fixed, result=result, send=send)
        except Exception:
            log.exception("alert rule %r failed", rule.name)
            result.failed_rules.append(rule.name)
    # A disabled rule sees nothing any more: its alerts resolve (it raises no new ones).
    unresolved = Alert.objects.exclude(state=Alert.State.RESOLVED).values("rule_id")
    for rule in AlertRule.objects.filter(enabled=False, pk__in=unresolved):
        try:
            rule_resolve_all(rule, reason=DISABLED, now=fixed, result=result)
        except Exception:
            log.exception("alert rule %r failed", rule.name)
            result.failed_rules.append(rule.name)
    now = fixed or timezone.now()
    # Retries, and sends lost with a killed process; not the alerts this run just notified.
    due = notifications_due(now).exclude(pk__in=result.opened)
    for alert_id in list(due.values_list("pk", flat=True)):
        send(alert_id, now)
    return result


@transaction.atomic
def rule_resolve_all(
    rule: AlertRule, *, reason: str, now: datetime | None = None, result: Evaluation | None = None
) -> list[int]:
    """Resolve the rule's unresolved alerts, audited with `reason` (the rule was disabled, or
    its kind changed); returns their ids."""
    _rule_lock(rule)
    now = now or timezone.now()
    result = result if result is not None else Evaluation()
    alerts = list(Alert.objects.filter(rule=rule).exclude(state=Alert.State.RESOLVED))
    for alert in alerts:
        alert.rule = rule
    before = len(result.resolved)
    _resolve(alerts, now=now, result=result, reason=reason)
    return result.resolved[before:]


@transaction.atomic
def _rule_evaluate(rule: AlertRule, *, now: datetime | None, result: Evaluation, send: Send):
    """One rule: its row locked first, then its findings read with a `now` taken under the
    lock, so that what is applied is never older than what an evaluation before it applied."""
    _rule_lock(rule)
    now = now or timezone.now()
    _rule_apply(rule, rule_findings(rule, now=now), now=now, result=result, send=send)


def _rule_lock(rule: AlertRule) -> datetime | None:
    """Wait for the rule's row (one evaluation of a rule at a time); returns the `now` of the
    last evaluation applied to it."""
    locked = AlertRule.objects.select_for_update().filter(pk=rule.pk)
    return locked.values_list("last_evaluated_at", flat=True).first()


@transaction.atomic
def _rule_apply(
    rule: AlertRule,
    findings: list[Finding],
    *,
    now: datetime,
    result: Evaluation,
    send: Send | None = None,
):
    # One evaluation of a rule at a time: a second waits here, then reads what the first wrote.
    last = _rule_lock(rule)
    if last is not None and now < last:
        # Findings older than those already applied: they would resolve (or age) what the newer
        # evaluation saw, and the cooldown would then hide the incident.
        log.info("alert rule %r: skipping an evaluation older than the last", rule.name)
        return
    AlertRule.objects.filter(pk=rule.pk).update(last_evaluated_at=now)
    unresolved = {}
    other_kind = []  # raised before the rule's kind was changed: not what it watches now
    for alert in Alert.objects.filter(rule=rule).exclude(state=Alert.State.RESOLVED):
        alert.rule = rule  # for the audit's details, without a query each
        if alert.kind == rule.kind:
            unresolved[(alert.subuser_id, alert.subject)] = alert
        else:
            other_kind.append(alert)
    _resolve(other_kind, now=now, result=result, reason=KIND_CHANGED)
    seen = {f.key: f for f in findings}
    still = [(unresolved[key], f) for key, f in seen.items() if key in unresolved]
    _still_open(still, now=now, result=result)
    _resolve([a for key, a in unresolved.items() if key not in seen], now=now, result=result)
    new = [f for key, f in seen.items() if key not in unresolved]
    if new:
        cooling = set(
            Alert.objects.filter(
                rule=rule,
                kind=rule.kind,  # an alert of its former kind was another incident
                state=Alert.State.RESOLVED,
                resolved_at__gt=now - timedelta(minutes=rule.cooldown_minutes),
            ).values_list("subuser_id", "subject")
        )
        result.cooling += sum(1 for f in new if f.key in cooling)
        _open(rule, [f for f in new if f.key not in cooling], now=now, result=result,
              send=send)  # fmt: skip


def _still_open(pairs: list[tuple[Alert, Finding]], *, now: datetime, result: Evaluation):
    for alert, finding in pairs:
        # The incident began when the alert first saw it: its link keeps that start.
        since = alert.details.get("since") or finding.details.get("since")
        # Only what evaluation owns: an acknowledgement made meanwhile stays. One UPDATE each
        # (a handful of open alerts): cheaper here than bulk_update's CASE per row and field.
        Alert.objects.filter(pk=alert.pk).update(
            last_seen_at=now,
            value=finding.value,
            baseline=finding.baseline,
            summary=finding.summary[:500],
            details={**finding.details, "since": since},
        )
        result.updated.append(alert.pk)


def _resolve(alerts: list[Alert], *, now: datetime, result: Evaluation, reason: str = ""):
    names = _usernames({a.subuser_id for a in alerts})
    for alert in alerts:
        # Conditional: whichever evaluation resolves it first records it.
        done = (
            Alert.objects.filter(pk=alert.pk)
            .exclude(state=Alert.State.RESOLVED)
            .update(state=Alert.State.RESOLVED, resolved_at=now)
        )
        if not done:
            continue
        result.resolved.append(alert.pk)
        audit_record(
            AuditEvent.Action.ALERT_RESOLVED,
            subuser=names.get(alert.subuser_id, ""),
            details=_audit_details(alert, before={"state": alert.state},
                                   after={"state": Alert.State.RESOLVED.value}, reason=reason),
            key=f"alert:{alert.pk}:resolved",
        )  # fmt: skip


def _open(
    rule: AlertRule,
    findings: list[Finding],
    *,
    now: datetime,
    result: Evaluation,
    send: Send | None = None,
):
    send = send or notify_inline
    names = _usernames({f.subuser_id for f in findings})
    for finding in findings:
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    rule=rule,
                    kind=rule.kind,
                    subuser_id=finding.subuser_id,
                    subject=finding.subject,
                    summary=finding.summary[:500],
                    since=finding.since,
                    value=finding.value,
                    baseline=finding.baseline,
                    details=finding.details,
                    opened_at=now,
                    last_seen_at=now,
                )
        except IntegrityError:
            continue  # opened meanwhile by another evaluation
        result.opened.append(alert.pk)
        audit_record(
            AuditEvent.Action.ALERT_OPENED,
            subuser=names.get(finding.subuser_id, ""),
            details=_audit_details(alert, before=None, after={
                "state": Alert.State.OPEN.value, "value": alert.value,
                "baseline": alert.baseline, "since": alert.details.get("since"),
            }),
            key=f"alert:{alert.pk}:opened",
        )  # fmt: skip
        if rule.notify:
            transaction.on_commit(lambda pk=alert.pk: send(pk, now))


def notify_inline(alert_id: int, now: datetime) -> None:
    """Notify in this process. After commit: a failure is recorded on the alert and retried,
    never raised into the evaluation."""
    try:
        alert_notify(alert_id, now=now)
    except Exception:
        log.exception("alert %s: notification failed", alert_id)


def _audit_details(alert: Alert, *, before: dict | None, after: dict, reason: str = "") -> dict:
    details = {
        "alert": alert.pk,
        "rule": alert.rule.name,
        "kind": alert.kind,
        "subject": alert.subject,
        "summary": alert.summary,
        "before": before,
        "after": after,
    }
    if reason:
        details["reason"] = reason
    return details


def _usernames(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(Subuser.objects.filter(pk__in=ids).values_list("pk", "username"))
