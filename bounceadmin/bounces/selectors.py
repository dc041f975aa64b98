"""Read-side queries for the pages: overview rows, the per-day chart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Max, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from .dates import local_midnight
from .models import Bounce, Subuser
from .refresh import stale_before


def overview_rows(subusers: QuerySet[Subuser]) -> list[Subuser]:
    """Subusers with counts of their active bounces: one grouped query over the active-bounce
    index (subuser, type, created), not a join of every subuser with every bounce."""
    rows = list(subusers.select_related("last_refresh"))
    counts = (
        Bounce.objects.filter(subuser__in=[r.pk for r in rows], removed_at__isnull=True)
        .order_by()
        .values("subuser_id", "type")
        .annotate(n=Count("id"), newest=Max("created"))
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


def classification_counts(bounces: QuerySet[Bounce]) -> list[tuple[str, int]]:
    rows = (
        bounces.filter(removed_at__isnull=True)
        .order_by()
        .values("classification")
        .annotate(n=Count("id"))
    )
    return sorted(((r["classification"], r["n"]) for r in rows), key=lambda r: -r[1])


@dataclass
class DailyChart:
    days: list[date]
    hard: list[int]
    soft: list[int]
    peak: int = 0
    bars: list[dict] = field(default_factory=list)


def daily_chart(bounces: QuerySet[Bounce], *, days: int, width: int = 720, height: int = 160):
    """Bounces created per local day over the last `days` days, hard and soft, as SVG bars."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    start = local_midnight(first)
    counts = (
        bounces.filter(created__gte=start)
        .order_by()
        .annotate(day=TruncDate("created", tzinfo=timezone.get_current_timezone()))
        .values("day", "type")
        .annotate(n=Count("id"))
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
