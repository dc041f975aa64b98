"""The overview's sparklines: each subuser's bounces per local day over the last two weeks, the
days it had an alert marked. Two queries for every subuser on the page (the daily summaries and
the alerts), drawn server-side as inline SVG (templatetags/sparkline.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Sum
from django.utils import timezone

from bounceadmin.alerts.selectors import alert_days

from .models import BounceDailyCount

DAYS = 14


@dataclass
class Sparkline:
    days: list[date]
    counts: list[int]
    alerted: set[date]

    @property
    def total(self) -> int:
        return sum(self.counts)


def overview_sparklines(subuser_ids: list[int], *, days: int = DAYS) -> dict[int, Sparkline]:
    """Bounces created per local day (hard and soft, removed or not), from BounceDailyCount,
    whose days are local days in the current zone once bounce_summaries_ensure has run."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    rows = (
        BounceDailyCount.objects.filter(subuser__in=subuser_ids, day__gte=first, day__lte=today)
        .order_by()
        .values_list("subuser_id", "day")
        .annotate(n=Sum("count"))
    )
    counts: dict[tuple[int, date], int] = {(s, d): n for s, d, n in rows}
    alerted = alert_days(subuser_ids, first, today)
    all_days = [first + timedelta(days=i) for i in range(days)]
    return {
        pk: Sparkline(
            days=all_days,
            counts=[counts.get((pk, d), 0) for d in all_days],
            alerted=alerted.get(pk, set()),
        )
        for pk in subuser_ids
    }
