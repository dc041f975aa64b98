"""Writing a download into the cache: new rows, changed rows, removals and their history, in
the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from django.utils import timezone

from bounceadmin.chunks import chunks
from bounceadmin.sendgrid import UpstreamBounce

from ..models import Bounce, BounceChange, RefreshRun, Subuser
from .bulkwrite import bounces_insert, bounces_update
from .database import bulk_create_batch, datetime_to_db, epoch_to_db, rows_read
from .listing import Upstream, missing_from_listing
from .runs import run_adjustments_note

_IN_CHUNK = 500


class Cached(NamedTuple):
    """What reconciling needs of a cached row."""

    pk: int
    email: str
    status: str
    reason: str
    created: datetime
    removed_at: datetime | None
    repeat_of_id: int | None


def reconcile(subuser: Subuser, upstream: Upstream, *, full: bool, run: RefreshRun) -> bool:
    """Write what the download found; True when the subuser's bounces changed (the overview's
    summaries are then out of date)."""
    now = timezone.now()
    to_db, epoch_db = datetime_to_db(), epoch_to_db()
    stamp = to_db(now)
    existing = upstream.cached if full else cached_rows(subuser, list(upstream.rows))
    new: list[tuple] = []
    changed: list[tuple[UpstreamBounce, datetime, Cached]] = []
    unchanged: list[int] = []
    history: list[BounceChange] = []
    for email, up in upstream.rows.items():
        row = existing.get(email)
        if row is None:
            new.append(
                (subuser.pk, email, up.status, up.reason, epoch_db(up.created),
                 *upstream.derive(up), stamp, stamp)
            )  # fmt: skip
            continue
        created = datetime.fromtimestamp(up.created, tz=UTC)
        same = (row.status, row.reason, row.created) == (up.status, up.reason, created)
        if row.removed_at is None and same:
            unchanged.append(row.pk)
            continue
        changed.append((up, created, row))
        reappeared = row.removed_at is not None
        run.reappeared += reappeared
        kind = BounceChange.Kind.REAPPEARED if reappeared else BounceChange.Kind.CHANGED
        history.append(_change(row, kind, now, run))

    if full:
        gone = [existing[email] for email in missing_from_listing(upstream)]
        for chunk in chunks([row.pk for row in gone], _IN_CHUNK):
            Bounce.objects.filter(pk__in=chunk).update(removed_at=now)
        history.extend(_change(row, BounceChange.Kind.REMOVED, now, run) for row in gone)
        run.removed = len(gone)
        # Everything still active was in this listing (written before the new rows go in, so
        # that it touches only rows cached before).
        if unchanged:
            Bounce.objects.filter(subuser=subuser, removed_at__isnull=True).update(last_seen=now)
    else:
        for chunk in chunks(unchanged, _IN_CHUNK):
            Bounce.objects.filter(pk__in=chunk).update(last_seen=now)

    repeats = repeats_of([row for _, _, row in changed if row.removed_at is not None], subuser)
    bounces_update(
        [
            (up.status, up.reason, to_db(created), *upstream.derive(up), None,
             repeats.get(row.pk, row.repeat_of_id), stamp, row.pk)
            for up, created, row in changed
        ]
    )  # fmt: skip
    bounces_insert(new)
    BounceChange.objects.bulk_create(history, batch_size=bulk_create_batch())
    run.pages = upstream.pages
    run_adjustments_note(run, list(upstream.adjustments))
    run.fetched = len(upstream.rows)
    run.created = len(new)
    run.updated = len(changed)
    return bool(new or changed or history)  # history holds the removals too


def repeats_of(reappeared: list[Cached], subuser: Subuser) -> dict[int, int]:
    """An address back on the list after we pushed its removal is a repeat of that removal:
    the latest done deletion item of each reappeared row (by the row's pk)."""
    from bounceadmin.deletions.models import DeletionItem

    by_email = {row.email: row.pk for row in reappeared}
    latest: dict[int, int] = {}
    for chunk in chunks(list(by_email), _IN_CHUNK):
        done = DeletionItem.objects.filter(
            request__subuser=subuser,
            request__list="bounces",
            state=DeletionItem.State.DONE,
            email__in=chunk,
        ).order_by("email", "pushed_at")
        # The last one per email wins.
        latest.update((by_email[email], pk) for email, pk in done.values_list("email", "pk"))
    return latest


def _change(row: Cached, kind: str, now: datetime, run: RefreshRun) -> BounceChange:
    return BounceChange(
        bounce_id=row.pk, kind=kind, at=now, run=run,
        old_status=row.status, old_reason=row.reason, old_created=row.created,
    )  # fmt: skip


def cached_rows(subuser: Subuser, emails: list[str] | None) -> dict[str, Cached]:
    """The subuser's cached rows by email: all of them, or those of `emails`."""
    qs = Bounce.objects.filter(subuser=subuser).order_by().values_list(*Cached._fields)
    if emails is None:
        return {row[1]: Cached(*row) for row in rows_read(qs)}
    found: dict[str, Cached] = {}
    for chunk in chunks(emails, _IN_CHUNK):
        found.update((row[1], Cached(*row)) for row in qs.filter(email__in=chunk))
    return found
