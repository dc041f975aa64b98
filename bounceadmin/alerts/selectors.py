"""Reads of alerts for the pages, scoped through accounts.scoping: the current ones (open, then
acknowledged), the past ones (resolved) a page at a time, one alert's audit history, the
navigation's count, and the days each subuser had an alert (the overview's sparklines)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from bounceadmin.accounts.scoping import visible_alerts
from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.selectors import visible_events
from bounceadmin.bounces.dates import local_midnight

from .models import Alert

CURRENT = (Alert.State.OPEN, Alert.State.ACKNOWLEDGED)


@dataclass
class AlertFilter:
    """The list's filters, from the query string; a value that is not one of the choices is
    no filter (never an error)."""

    state: str = ""
    subuser: str = ""

    @classmethod
    def from_query(cls, query, subuser_names: list[str]) -> AlertFilter:
        state = query.get("state", "")
        subuser = query.get("subuser", "")
        return cls(
            state=state if state in Alert.State.values else "",
            subuser=subuser if subuser in subuser_names else "",
        )


def _alerts(user, chosen: AlertFilter) -> QuerySet[Alert]:
    alerts = visible_alerts(user).select_related("rule", "subuser", "acknowledged_by")
    if chosen.subuser:
        alerts = alerts.filter(subuser__username=chosen.subuser)
    if chosen.state:
        alerts = alerts.filter(state=chosen.state)
    return alerts


def current_alerts(user, chosen: AlertFilter) -> list[Alert]:
    """Open alerts first, then acknowledged ones, newest first within each. There is at most
    one unresolved alert per rule, subuser and subject, so these are few."""
    if chosen.state == Alert.State.RESOLVED:
        return []
    rank = Case(When(state=Alert.State.OPEN, then=Value(0)), default=Value(1),
                output_field=IntegerField())  # fmt: skip
    return list(_alerts(user, chosen).filter(state__in=CURRENT).order_by(rank, "-opened_at", "-id"))


def past_alerts(user, chosen: AlertFilter) -> QuerySet[Alert]:
    """Resolved alerts, newest first (alert_state_opened serves it); the page paginates."""
    if chosen.state and chosen.state != Alert.State.RESOLVED:
        return Alert.objects.none()
    return _alerts(user, chosen).filter(state=Alert.State.RESOLVED).order_by("-opened_at", "-id")


ALERT_ACTIONS = (
    AuditEvent.Action.ALERT_OPENED,
    AuditEvent.Action.ALERT_ACKNOWLEDGED,
    AuditEvent.Action.ALERT_RESOLVED,
)


def alert_events(user, alert: Alert) -> list[AuditEvent]:
    """The audit events about this alert (opened, acknowledged, resolved), oldest first."""
    events = visible_events(user).filter(
        action__in=ALERT_ACTIONS, subuser=alert.subuser.username, details__alert=alert.pk
    )
    return list(events.order_by("at", "id")[:100])


def open_alert_count(user) -> int:
    return visible_alerts(user).filter(state=Alert.State.OPEN).count()


def alert_days(subuser_ids: list[int], first: date, last: date) -> dict[int, set[date]]:
    """The local days from `first` to `last` on which each subuser had an alert open at some
    point: one query for every subuser."""
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    rows = (
        Alert.objects.filter(subuser_id__in=subuser_ids, opened_at__lt=end)
        .exclude(resolved_at__lt=start)
        .order_by()
        .values_list("subuser_id", "opened_at", "resolved_at")
    )
    days: dict[int, set[date]] = {}
    for subuser_id, opened_at, resolved_at in rows:
        day = max(timezone.localdate(opened_at), first)
        until = min(timezone.localdate(resolved_at) if resolved_at else last, last)
        while day <= until:
            days.setdefault(subuser_id, set()).add(day)
            day += timedelta(days=1)
    return days
