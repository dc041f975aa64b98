"""Building spikes: bounces placed in a rule's window and in the same window on past days."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from django.utils import timezone

from bounceadmin.alerts.models import AlertRule
from bounceadmin.bounces.classification import Classification, Fault
from bounceadmin.bounces.models import Bounce, Subuser

_n = itertools.count()
NOW = timezone.now().replace(microsecond=0)


def make_rule(kind: str, **fields) -> AlertRule:
    fields.setdefault("name", f"{kind} {next(_n)}")
    fields.setdefault("min_count", 20)
    fields.setdefault("factor", 3.0)
    subusers = fields.pop("subusers", [])
    rule = AlertRule.objects.create(kind=kind, **fields)
    rule.subusers.set(subusers)
    return rule


def add_bounces(
    subuser: Subuser,
    count: int,
    *,
    at: datetime,
    domain: str = "example.com",
    classification: str = Classification.INVALID_ADDRESS,
    fault: str = Fault.RECIPIENT,
    removed: bool = False,
) -> None:
    """`count` bounces created within the minute before `at`."""
    rows = []
    for i in range(count):
        n = next(_n)
        created = at - timedelta(seconds=1 + i % 50)
        rows.append(
            Bounce(
                subuser=subuser,
                email=f"user{n}@{domain}",
                status="5.0.0",
                reason="550 no",
                created=created,
                type="hard",
                classification=classification,
                fault=fault,
                first_seen=created,
                last_seen=created,
                removed_at=created if removed else None,
            )  # fmt: skip
        )
    Bounce.objects.bulk_create(rows)


def add_baseline(subuser: Subuser, per_day: int, *, now: datetime = NOW, days: int = 14, **kw):
    """`per_day` bounces in the same hour on each of the past `days` days."""
    for d in range(1, days + 1):
        add_bounces(subuser, per_day, at=now - timedelta(days=d, minutes=5), **kw)
