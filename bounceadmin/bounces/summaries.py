"""The overview's summaries of the cache: bounces per subuser, local day and type (the chart) and
active bounces per subuser, classification and type (the counts).

They are exact because they are never patched: every write to a subuser's bounces rebuilds that
subuser's summaries from its rows, in the same transaction, with one grouped query over that
subuser only (cheap at thousands of rows). Writers: the refresh's reconcile, the deletion push,
the admin's delete, and `rebuild_bounce_summaries`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Max
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import Bounce, BounceActiveCount, BounceDailyCount, BounceSummaryState, Subuser


@transaction.atomic
def bounce_summaries_rebuild(*, subuser_id: int) -> None:
    """Replace one subuser's summaries with counts of its bounces as they are now."""
    # One rebuild of a subuser at a time (PostgreSQL; SQLite writes one at a time anyway): two
    # concurrent delete-then-insert would collide on the unique constraints.
    if not Subuser.objects.select_for_update().filter(pk=subuser_id).exists():
        return
    zone = timezone.get_current_timezone()
    bounces = Bounce.objects.filter(subuser_id=subuser_id).order_by()
    days = (
        bounces.annotate(day=TruncDate("created", tzinfo=zone))
        .values("day", "type")
        .annotate(n=Count("id"))
    )
    active = (
        bounces.filter(removed_at__isnull=True)
        .values("classification", "type")
        .annotate(n=Count("id"), newest=Max("created"))
    )
    BounceDailyCount.objects.filter(subuser_id=subuser_id).delete()
    BounceDailyCount.objects.bulk_create(
        BounceDailyCount(subuser_id=subuser_id, day=r["day"], type=r["type"], count=r["n"])
        for r in days
    )
    BounceActiveCount.objects.filter(subuser_id=subuser_id).delete()
    BounceActiveCount.objects.bulk_create(
        BounceActiveCount(subuser_id=subuser_id, classification=r["classification"],
                          type=r["type"], count=r["n"], newest=r["newest"])
        for r in active
    )  # fmt: skip
    BounceSummaryState.objects.update_or_create(
        subuser_id=subuser_id,
        defaults={"zone": timezone.get_current_timezone_name(), "rebuilt_at": timezone.now()},
    )


def bounce_summaries_ensure(subusers: Iterable[Subuser]) -> int:
    """Rebuild the summaries of those `subusers` that have none yet or whose days were counted in
    another time zone; returns how many. `subusers` should come with select_related("summary")."""
    zone = timezone.get_current_timezone_name()
    stale = [
        s.pk for s in subusers if getattr(s, "summary", None) is None or s.summary.zone != zone
    ]
    for pk in stale:
        bounce_summaries_rebuild(subuser_id=pk)
    return len(stale)
