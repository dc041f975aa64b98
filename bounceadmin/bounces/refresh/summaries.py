"""The overview's summaries of the cache: bounces per subuser, local day and type (the chart) and
active bounces per subuser, classification and type (the counts).

They are exact because every write to a subuser's bounces brings that subuser's summaries up to
date in the same transaction: the refresh's reconcile, the deletion push, the admin's delete and
`rebuild_bounce_summaries` rebuild them from the rows, with one grouped query over that subuser
only (cheap at thousands of rows, a second at 100,000); the webhook, which writes a few rows at a
time many times a minute, moves them by exactly those rows (`bounce_summaries_patch`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Count, F, Max, Model, QuerySet, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from ..models import Bounce, BounceActiveCount, BounceDailyCount, BounceSummaryState, Subuser
from .database import local_day


def bounce_summaries_rebuild(*, subuser_id: int) -> None:
    """Replace one subuser's summaries with counts of its bounces as they are now."""
    bounce_summaries_rebuild_many([subuser_id])


def bounce_summaries_rebuild_many(subuser_ids: Iterable[int]) -> None:
    """Replace the summaries of these subusers with counts of their bounces as they are now: two
    grouped queries for all of them (the refresh pipeline rebuilds a whole group at once)."""
    subuser_ids = list(subuser_ids)
    # Nothing to do starts no transaction: on SQLite that would take the write lock, on every
    # view of the overview.
    if subuser_ids:
        _rebuild(subuser_ids)


@transaction.atomic
def _rebuild(subuser_ids: list[int]) -> None:
    # One rebuild of a subuser at a time (PostgreSQL; SQLite writes one at a time anyway): two
    # concurrent delete-then-insert would collide on the unique constraints. NO KEY: rows being
    # inserted that refer to the subuser (a webhook's batch) need not wait for it.
    ids = list(
        Subuser.objects.select_for_update(no_key=True)
        .filter(pk__in=subuser_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return
    bounces = Bounce.objects.filter(subuser_id__in=ids).order_by()
    days = (
        bounces.annotate(day=local_day(bounces))
        .values("subuser_id", "day", "type")
        .annotate(n=Count("id"))
    )
    active = (
        bounces.filter(removed_at__isnull=True)
        .values("subuser_id", "classification", "type")
        .annotate(n=Count("id"), newest=Max("created"))
    )
    BounceDailyCount.objects.filter(subuser_id__in=ids).delete()
    _insert_grouped(
        BounceDailyCount,
        days,
        {"subuser": "subuser_id", "day": "day", "type": "type", "count": "n"},
    )
    BounceActiveCount.objects.filter(subuser_id__in=ids).delete()
    _insert_grouped(
        BounceActiveCount, active,
        {"subuser": "subuser_id", "classification": "classification", "type": "type",
         "count": "n", "newest": "newest"},
    )  # fmt: skip
    now, name = timezone.now(), timezone.get_current_timezone_name()
    BounceSummaryState.objects.bulk_create(
        [BounceSummaryState(subuser_id=pk, zone=name, rebuilt_at=now) for pk in ids],
        update_conflicts=True,
        unique_fields=["subuser"],
        update_fields=["zone", "rebuilt_at"],
    )


def _insert_grouped(model: type[Model], grouped: QuerySet, columns: dict[str, str]) -> None:
    """Insert the rows of a grouped values() query into `model`'s table in the database itself
    (INSERT ... SELECT): `columns` maps each field to the query's name for it. Brought into
    Python and bulk-created, the counts of a big cache cost seconds more (bench/README.md)."""
    quote = connection.ops.quote_name
    select, params = grouped.query.sql_with_params()
    targets = ", ".join(quote(model._meta.get_field(f).column) for f in columns)
    sources = ", ".join(quote(name) for name in columns.values())
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        # Every name is quoted from the models' metadata; the values stay parameters.
        cursor.execute(
            f"INSERT INTO {table} ({targets}) SELECT {sources} FROM ({select}) AS grouped",  # noqa: S608
            params,
        )


def bounce_summaries_ensure(subusers: Iterable[Subuser]) -> int:
    """Rebuild the summaries of those `subusers` that have none yet or whose days were counted in
    another time zone; returns how many. `subusers` should come with select_related("summary")."""
    zone = timezone.get_current_timezone_name()
    stale = [
        s.pk for s in subusers if getattr(s, "summary", None) is None or s.summary.zone != zone
    ]
    bounce_summaries_rebuild_many(stale)
    return len(stale)


class SummaryKey(NamedTuple):
    created: datetime
    type: str
    classification: str
    active: bool


class RowChange(NamedTuple):
    """A bounce row as it was (None for a new one) and as it is now, for the summaries."""

    before: SummaryKey | None
    after: SummaryKey


def bounce_summaries_patch(subuser_id: int, changes: Iterable[RowChange]) -> None:
    """Bring one subuser's summaries up to date with a few changed rows, in the caller's
    transaction: the webhook's writers, where a rebuild would recount a whole list for each
    delivery. Exact like a rebuild (the tests hold them equal): counts move by the changes, and a
    group that lost a row gets its newest read again. Summaries never built, or counted in
    another zone, are rebuilt instead."""
    zone = timezone.get_current_timezone()
    state = BounceSummaryState.objects.filter(subuser_id=subuser_id).first()
    if state is None or state.zone != timezone.get_current_timezone_name():
        bounce_summaries_rebuild(subuser_id=subuser_id)
        return
    days: Counter = Counter()
    active: Counter = Counter()
    newest: dict[tuple[str, str], datetime] = {}
    lost: set[tuple[str, str]] = set()
    for before, after in changes:
        for row, sign in ((before, -1), (after, 1)):
            if row is None:
                continue
            days[(timezone.localtime(row.created, zone).date(), row.type)] += sign
            if row.active:
                group = (row.classification, row.type)
                active[group] += sign
                if sign > 0:
                    newest[group] = max(newest.get(group, row.created), row.created)
                else:
                    lost.add(group)
    try:
        for (day, kind), delta in days.items():
            _move(BounceDailyCount, {"subuser_id": subuser_id, "day": day, "type": kind}, delta)
        for (classification, kind), delta in active.items():
            group = {"subuser_id": subuser_id, "classification": classification, "type": kind}
            _move(BounceActiveCount, group, delta, newest.get((classification, kind)))
    except _Drifted:
        # Rows written past the summaries (e.g. by hand): count them all again.
        bounce_summaries_rebuild(subuser_id=subuser_id)
        return
    for classification, kind in lost:
        # The row that left may have been the group's newest.
        rows = Bounce.objects.filter(
            subuser_id=subuser_id, removed_at__isnull=True, classification=classification,
            type=kind,
        )  # fmt: skip
        latest = rows.aggregate(latest=Max("created"))["latest"]
        if latest is not None:
            BounceActiveCount.objects.filter(
                subuser_id=subuser_id, classification=classification, type=kind
            ).update(newest=latest)


class _Drifted(Exception):
    """A count would go below zero: the summaries no longer match the rows."""


def _move(model: type[Model], group: dict, delta: int, newest: datetime | None = None) -> None:
    """Add `delta` to the count of one group (made when new, gone when it reaches 0)."""
    rows = model.objects.filter(**group)
    if delta:
        extra = {"newest": Greatest(F("newest"), Value(newest))} if newest else {}
        if rows.filter(count__gte=max(0, -delta)).update(count=F("count") + delta, **extra):
            rows.filter(count=0).delete()
        elif delta < 0 or rows.exists():
            raise _Drifted
        else:
            model.objects.create(**group, count=delta, **({"newest": newest} if newest else {}))
    elif newest:
        rows.update(newest=Greatest(F("newest"), Value(newest)))
