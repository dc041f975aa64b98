"""The alert rules, one module per kind, each a `findings(rule, *, now)` returning the
incidents it sees now (`finding.Finding`). A new kind: an `AlertRule.Kind`, a module here, and
its row in RULES.

    windows.py   the spikes' counting: the window and its baseline days in one grouped query
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bounceadmin.alerts.models import AlertRule

from . import (
    bounce_spike,
    classification_spike,
    domain_spike,
    refresh_failures,
    sender_fault_share,
    webhook_silent,
)
from .finding import Finding

Kind = AlertRule.Kind

RULES: dict[str, Callable[..., list[Finding]]] = {
    Kind.BOUNCE_SPIKE: bounce_spike.findings,
    Kind.CLASSIFICATION_SPIKE: classification_spike.findings,
    Kind.DOMAIN_SPIKE: domain_spike.findings,
    Kind.SENDER_FAULT_SHARE: sender_fault_share.findings,
    Kind.REFRESH_FAILURES: refresh_failures.findings,
    Kind.WEBHOOK_SILENT: webhook_silent.findings,
}


def rule_findings(rule: AlertRule, *, now: datetime) -> list[Finding]:
    return RULES[rule.kind](rule, now=now)


__all__ = ["RULES", "Finding", "rule_findings"]
