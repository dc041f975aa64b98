"""Counting a rule's windows: the last `window_minutes` and the same window on each of the past
`baseline_days` days, in one grouped query.

The 15 (by default) narrow time ranges are read range by range through the (created, id) index,
whatever the number of subusers, each SELECT naming its day offset (0: the window itself).
Removed bounces count: they bounced."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, IntegerField, Min, Q, Value
from django.utils import timezone

from bounceadmin.alerts.models import AlertRule
from bounceadmin.bounces.models import Bounce

from .finding import iso

DAY = timedelta(days=1)


@dataclass
class Windows:
    """One key's counts: `counts[0]` the window's, `counts[d]` the same window d days ago; the
    first bounce of the window; and, when asked for, the sender-fault counts alike."""

    counts: list[int]
    first: datetime | None = None
    sender: list[int] = field(default_factory=list)

    @property
    def now(self) -> int:
        return self.counts[0]

    @property
    def baseline(self) -> list[int]:
        return self.counts[1:]

    @property
    def median(self) -> float:
        return float(statistics.median(self.baseline)) if self.baseline else 0.0


def window_ranges(rule: AlertRule, now: datetime) -> list[tuple[datetime, datetime]]:
    """The window ending now, and the same wall-clock window (TIME_ZONE) on each baseline day:
    a daily send at 09:00 local time stays in its baseline across a clock change."""
    width = timedelta(minutes=rule.window_minutes)
    ends = [now] + [days_ago(now, d) for d in range(1, rule.baseline_days + 1)]
    return [(end - width, end) for end in ends]


def days_ago(now: datetime, days: int) -> datetime:
    """The same local wall-clock time `days` days before `now` (aware; a wall-clock time that a
    clock change skipped or repeated is normalised by the zone)."""
    local = timezone.localtime(now)
    naive = local.replace(tzinfo=None) - days * DAY
    return timezone.make_aware(naive, local.tzinfo)


def window_counts(
    rule: AlertRule,
    *,
    now: datetime,
    subuser_ids,
    group: dict | None = None,
    where: Q | None = None,
    sender: bool = False,
) -> dict[tuple, Windows]:
    """Counts per (subuser_id, *group values) over the rule's windows. `group` maps names to
    expressions to group by (a classification, a domain); `where` narrows the rows; `sender`
    also counts sender-fault bounces."""
    ranges = window_ranges(rule, now)
    rows = Bounce.objects.all()
    if where is not None:
        rows = rows.filter(where)
    group = group or {}
    aggregates = {"n": Count("id"), "first": Min("created")}
    if sender:
        aggregates["s"] = Count("id", filter=Q(fault="sender"))
    # One SELECT per range, joined by UNION ALL: each reads its range of the (created, id)
    # index. (An OR of the ranges in one WHERE led SQLite's planner to scan a whole index.)
    # The subusers are picked from the result: a filter on them would steer the planners to
    # the (subuser, created) index and read every row of each subuser.
    parts = [
        rows.filter(created__gte=start, created__lt=end)
        .annotate(offset=Value(d, output_field=IntegerField()), **group)
        .values("subuser_id", "offset", *group)
        .annotate(**aggregates)
        .order_by()
        for d, (start, end) in enumerate(ranges)
    ]
    grouped = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    watched = set(subuser_ids)
    days = len(ranges)
    found: dict[tuple, Windows] = {}
    for row in grouped:
        if row["subuser_id"] not in watched:
            continue
        key = (row["subuser_id"], *(row[name] for name in group))
        windows = found.setdefault(key, Windows(counts=[0] * days, sender=[0] * days))
        windows.counts[row["offset"]] = row["n"]
        if sender:
            windows.sender[row["offset"]] = row["s"]
        if row["offset"] == 0:
            windows.first = row["first"]
    return found


def spikes(rule: AlertRule, windows: Windows) -> bool:
    """Over `factor` times the baseline's median and at least `min_count`. A median of zero (a
    subuser or domain that usually has no bounces at this hour) counts as one, so `min_count`
    alone decides whether a first burst pages anyone."""
    return windows.now >= rule.min_count and windows.now >= rule.factor * max(windows.median, 1)


def ratio(windows: Windows) -> float:
    return windows.now / max(windows.median, 1)


def window_label(rule: AlertRule) -> str:
    minutes = rule.window_minutes
    if minutes % 60 == 0:
        hours = minutes // 60
        return "hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"


def spike_summary(what: str, rule: AlertRule, windows: Windows) -> str:
    """ "120 bounces in the last hour, 6.0× the median of 20 at this time over 14 days"; a zero
    median says so instead of a ratio over nothing."""
    over = (
        f"{ratio(windows):.1f}× the median of {windows.median:g}"
        if windows.median
        else "against none (the median)"
    )
    return (
        f"{what}: {windows.now} bounces in the last {window_label(rule)}, {over} at this time"
        f" over the past {rule.baseline_days} days"
    )


def spike_details(rule: AlertRule, windows: Windows, *, now: datetime, username: str) -> dict:
    return {
        "subuser": username,
        "since": iso(windows.first or now - timedelta(minutes=rule.window_minutes)),
        "until": iso(now),
        "window_minutes": rule.window_minutes,
        "baseline_days": rule.baseline_days,
        "ratio": round(ratio(windows), 2),
    }
