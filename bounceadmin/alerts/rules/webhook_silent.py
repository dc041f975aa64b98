"""A subuser's Event Webhook that should be receiving (set up, on, signed) but has had no
delivery for `silent_minutes`: only once it has had one, or was set up longer ago than that (a
quiet subuser that never bounced since its set-up is not an incident until then)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from bounceadmin.alerts.models import AlertRule
from bounceadmin.webhooks.models import WebhookEndpoint

from .finding import Finding, iso, watched_subusers


def findings(rule: AlertRule, *, now: datetime) -> list[Finding]:
    names = watched_subusers(rule)
    cutoff = now - timedelta(minutes=rule.silent_minutes)
    silent = WebhookEndpoint.objects.filter(
        Q(last_delivery_at__lt=cutoff) | Q(last_delivery_at__isnull=True, set_up_at__lt=cutoff),
        subuser_id__in=list(names),
        enabled=True,
        signing=True,
    ).exclude(public_key="")  # the endpoint's `receiving`, as a query
    found = []
    for subuser_id, last_delivery, set_up in silent.values_list(
        "subuser_id", "last_delivery_at", "set_up_at"
    ):
        since = last_delivery or set_up
        minutes = int((now - since).total_seconds() // 60)
        username = names[subuser_id]
        heard = f"since its last delivery at {iso(since)}" if last_delivery else (
            f"since it was set up at {iso(since)}"
        )  # fmt: skip
        found.append(
            Finding(
                subuser_id=subuser_id,
                subject="",
                since=since,
                value=minutes,
                baseline=rule.silent_minutes,
                summary=f"Event Webhook of {username} silent for {minutes} minutes ({heard})",
                details={"subuser": username, "since": iso(since), "until": iso(now)},
            )
        )
    return found
