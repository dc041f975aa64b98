"""Bounces at one receiving domain spiking for a subuser (a provider blocking or throttling).
The domain is the part of the address after its first `@`, computed in the query."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Value
from django.db.models.functions import StrIndex, Substr

from bounceadmin.alerts.models import AlertRule

from .finding import Finding, watched_subusers
from .windows import spike_details, spike_summary, spikes, window_counts

SUBJECT_CHARS = 255  # Alert.subject's length; an address from upstream may be longer


def findings(rule: AlertRule, *, now: datetime) -> list[Finding]:
    names = watched_subusers(rule)
    domain = Substr("email", StrIndex("email", Value("@")) + 1)
    counted = window_counts(rule, now=now, subuser_ids=names, group={"domain": domain})
    found = []
    for (subuser_id, name), windows in counted.items():
        if not name or not spikes(rule, windows):
            continue
        username = names[subuser_id]
        details = spike_details(rule, windows, now=now, username=username)
        details["domain"] = name
        found.append(
            Finding(
                subuser_id=subuser_id,
                subject=name[:SUBJECT_CHARS],
                since=windows.first,
                value=windows.now,
                baseline=windows.median,
                summary=spike_summary(f"Bounces at {name} spike for {username}", rule, windows),
                details=details,
            )
        )
    return found
