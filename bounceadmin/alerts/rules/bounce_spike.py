"""A subuser's bounces spiking against its own baseline (the same hour on the past days)."""

from __future__ import annotations

from datetime import datetime

from bounceadmin.alerts.models import AlertRule

from .finding import Finding, watched_subusers
from .windows import spike_details, spike_summary, spikes, window_counts


def findings(rule: AlertRule, *, now: datetime) -> list[Finding]:
    names = watched_subusers(rule)
    found = []
    for (subuser_id,), windows in window_counts(rule, now=now, subuser_ids=names).items():
        if not spikes(rule, windows):
            continue
        username = names[subuser_id]
        found.append(
            Finding(
                subuser_id=subuser_id,
                subject="",
                since=windows.first,
                value=windows.now,
                baseline=windows.median,
                summary=spike_summary(f"Bounce spike at {username}", rule, windows),
                details=spike_details(rule, windows, now=now, username=username),
            )
        )
    return found
