"""Bounces of one classification spiking for a subuser (a blocklisting shows as Reputation, a
broken DKIM record as Content or Technical Failure, a throttling provider as Frequency or
Volume Too High)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, Q

from bounceadmin.alerts.models import AlertRule
from bounceadmin.bounces.classification import Classification

from .finding import Finding, watched_subusers
from .windows import spike_details, spike_summary, spikes, window_counts

# Watched when the rule names none: the classifications that say something went wrong on the
# sending side (Invalid Address, Mailbox Unavailable and Unclassified are the recipients' churn).
DEFAULT_CLASSIFICATIONS = (
    Classification.REPUTATION,
    Classification.CONTENT,
    Classification.TECHNICAL_FAILURE,
    Classification.FREQUENCY_OR_VOLUME,
)


def findings(rule: AlertRule, *, now: datetime) -> list[Finding]:
    names = watched_subusers(rule)
    watched = list(rule.classifications or DEFAULT_CLASSIFICATIONS)
    counted = window_counts(
        rule,
        now=now,
        subuser_ids=names,
        group={"cls": F("classification")},
        where=Q(classification__in=watched),
    )
    found = []
    for (subuser_id, classification), windows in counted.items():
        if not spikes(rule, windows):
            continue
        username = names[subuser_id]
        details = spike_details(rule, windows, now=now, username=username)
        details["classification"] = classification
        found.append(
            Finding(
                subuser_id=subuser_id,
                subject=classification,
                since=windows.first,
                value=windows.now,
                baseline=windows.median,
                summary=spike_summary(
                    f"{classification} bounces spike at {username}", rule, windows
                ),  # fmt: skip
                details=details,
            )
        )
    return found
