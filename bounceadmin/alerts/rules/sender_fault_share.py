"""The share of a subuser's bounces that are the sender's fault jumping: the window's share
against the baseline windows' share (all their bounces pooled, steadier than a median of
shares when the baseline hours hold few bounces)."""

from __future__ import annotations

from datetime import datetime

from bounceadmin.alerts.models import AlertRule
from bounceadmin.bounces.classification import Fault

from .finding import Finding, watched_subusers
from .windows import spike_details, window_counts, window_label


def findings(rule: AlertRule, *, now: datetime) -> list[Finding]:
    names = watched_subusers(rule)
    found = []
    counted = window_counts(rule, now=now, subuser_ids=names, sender=True)
    for (subuser_id,), windows in counted.items():
        total, sender = windows.now, windows.sender[0]
        if total < rule.min_count:
            continue
        share = sender / total
        base_total, base_sender = sum(windows.baseline), sum(windows.sender[1:])
        baseline = base_sender / base_total if base_total else 0.0
        if share - baseline < rule.share_jump:
            continue
        username = names[subuser_id]
        details = spike_details(rule, windows, now=now, username=username)
        details.update(fault=Fault.SENDER.value, sender_bounces=sender, bounces=total)
        details.pop("ratio")
        found.append(
            Finding(
                subuser_id=subuser_id,
                subject="",
                since=windows.first,
                value=round(share, 4),
                baseline=round(baseline, 4),
                summary=(
                    f"Sender-fault share jumps at {username}: {share:.0%} of {total} bounces in"
                    f" the last {window_label(rule)} against {baseline:.0%} at this time over"
                    f" the past {rule.baseline_days} days"
                ),
                details=details,
            )
        )
    return found
