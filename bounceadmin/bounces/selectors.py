"""Read-side queries for the pages: overview rows, the per-day chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Max, Sum
from django.utils import timezone

from .models import BounceActiveCount, BounceDailyCount, RefreshRun, Subuser
from .refresh import stale_before


def overview_rows(subusers: list[Subuser]) -> list[Subuser]:
    """Subusers with counts of their active bounces, from their summaries (BounceActiveCount):
    a few thousand rows at most, however many bounces are cached. The caller has made sure the
    summaries are current (bounce_summaries_ensure); `subusers` come with their last refresh."""
    rows = subusers
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
        row.refresh_failed = bool(run and run.outcome == RefreshRun.Outcome.FAILED)
        row.stale = row.refreshable and (
            row.last_success_at is None or row.last_success_at < threshold
        )
        row.state, row.state_label = refresh_state(row, stale=row.stale)
    return rows


def refresh_state(subuser: Subuser, *, stale: bool) -> tuple[str, str]:
    """What the overview says of a subuser's refreshes, one state apart from the others: not
    fetched (and why), queued, running, failed, stale, ok, or never refreshed."""
    run = subuser.last_refresh
    if not subuser.refreshable:
        return "not-fetched", f"not fetched: {subuser.not_refreshable_why}"
    if run is not None and run.outcome == RefreshRun.Outcome.RUNNING:
        return "running", "running"
    if subuser.refresh_queued_at:
        return "queued", "queued"
    if run is None:
        return "never", "never refreshed"
    if run.outcome == RefreshRun.Outcome.FAILED:
        return "failed", "failed"
    if stale:
        return "stale", "stale"
    return "ok", "OK"


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
class DailyCounts:
    days: list[date]
    hard: list[int]
    soft: list[int]

    @property
    def peak(self) -> int:
        return max([h + s for h, s in zip(self.hard, self.soft, strict=True)] or [0])


def daily_counts(subuser_ids: list[int], *, days: int) -> DailyCounts:
    """Bounces of these subusers created per local day over the last `days` days, hard and soft,
    removed or not. From BounceDailyCount, whose days are local days in the current zone once
    bounce_summaries_ensure has run."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    counts = (
        BounceDailyCount.objects.filter(subuser__in=subuser_ids, day__gte=first, day__lte=today)
        .order_by()
        .values("day", "type")
        .annotate(n=Sum("count"))
    )
    by_day: dict[tuple[date, str], int] = {(c["day"], c["type"]): c["n"] for c in counts}
    all_days = [first + timedelta(days=i) for i in range(days)]
    return DailyCounts(
        days=all_days,
        hard=[by_day.get((d, "hard"), 0) for d in all_days],
        soft=[by_day.get((d, "soft"), 0) for d in all_days],
    )
