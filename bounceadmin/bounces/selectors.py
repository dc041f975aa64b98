"""Read-side queries for the pages: overview rows, the per-day chart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Max, QuerySet, Sum
from django.utils import timezone

from .models import BounceActiveCount, BounceDailyCount, Subuser
from .refresh import stale_before
from .refresh.summaries import bounce_summaries_ensure


def overview_rows(subusers: QuerySet[Subuser]) -> list[Subuser]:
    """Subusers with counts of their active bounces, from their summaries (BounceActiveCount):
    a few thousand rows at most, however many bounces are cached. Summaries missing or counted
    in another time zone are rebuilt first."""
    rows = list(subusers.select_related("last_refresh", "summary"))
    bounce_summaries_ensure(rows)
    counts = (
        BounceActiveCount.objects.filter(subuser__in=[r.pk for r in rows])
        .order_by()
        .values("subuser_id", "type")
        .annotate(n=Sum("count"), newest=Max("newest"))
    )
    by_subuser: dict[int, dict[str, tuple[int, object]]] = {}
    for c in counts:
        by_subuser.setdefault(c["subuser_id"], {})[c["type"]] = (c["n"], c["newest"])
    threshold = stale_before()
    for row in rows:
        mine = by_subuser.get(row.pk, {})
        row.hard_count = mine.get("hard", (0, None))[0]
        row.soft_count = mine.get("soft", (0, None))[0]
        row.active_count = row.hard_count + row.soft_count
        row.newest = max((newest for _, newest in mine.values() if newest), default=None)
        run = row.last_refresh
        row.refresh_failed = bool(run and run.outcome == "failed")
        row.refresh_running = bool(run and run.outcome == "running") or bool(row.refresh_queued_at)
        row.stale = row.refreshable and (
            row.last_success_at is None or row.last_success_at < threshold
        )
    return rows


def classification_counts(subuser_ids: list[int]) -> list[tuple[str, int]]:
    """Active bounces per classification over these subusers, most first."""
    rows = (
        BounceActiveCount.objects.filter(subuser__in=subuser_ids)
        .order_by()
        .values("classification")
        .annotate(n=Sum("count"))
    )
    return sorted(((r["classification"], r["n"]) for r in rows), key=lambda r: (-r[1], r[0]))


@dataclass
class DailyChart:
    days: list[date]
    hard: list[int]
    soft: list[int]
    peak: int = 0
    bars: list[dict] = field(default_factory=list)


def daily_chart(
    subuser_ids: list[int], *, days: int, width: int = 720, height: int = 160
) -> DailyChart:
    """Bounces of these subusers created per local day over the last `days` days, hard and soft,
    removed or not, as SVG bars. From BounceDailyCount, whose days are local days in the current
    zone once overview_rows has ensured the summaries."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    counts = (
        BounceDailyCount.objects.filter(subuser__in=subuser_ids, day__gte=first, day__lte=today)
        .order_by()
        .values("day", "type")
        .annotate(n=Sum("count"))
    )
    by_day: dict[tuple[date, str], int] = {(c["day"], c["type"]): c["n"] for c in counts}
    chart = DailyChart(days=[first + timedelta(days=i) for i in range(days)], hard=[], soft=[])
    chart.hard = [by_day.get((d, "hard"), 0) for d in chart.days]
    chart.soft = [by_day.get((d, "soft"), 0) for d in chart.days]
    chart.peak = max([h + s for h, s in zip(chart.hard, chart.soft, strict=True)] or [0])
    scale = (height - 20) / chart.peak if chart.peak else 0
    step = width / days
    for i, (day, hard, soft) in enumerate(zip(chart.days, chart.hard, chart.soft, strict=True)):
        hard_h, soft_h = hard * scale, soft * scale
        chart.bars.append(
            {
                "x": round(i * step + 1, 1),
                "w": round(max(step - 2, 1), 1),
                "hard_y": round(height - hard_h, 1),
                "hard_h": round(hard_h, 1),
                "soft_y": round(height - hard_h - soft_h, 1),
                "soft_h": round(soft_h, 1),
                "day": day,
                "hard": hard,
                "soft": soft,
            }
        )
    return chart
