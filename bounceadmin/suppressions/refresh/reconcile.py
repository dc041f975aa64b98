"""Writing a download of one list into the cache, in the caller's transaction: new entries,
changed ones, removals and their history. Entries are keyed by address, or by (group, address)
for group unsubscribes."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from django.utils import timezone

from bounceadmin.bounces.models import RefreshRun, Subuser
from bounceadmin.bounces.refresh.database import bulk_create_batch
from bounceadmin.chunks import chunks
from bounceadmin.sendgrid.listentries import UpstreamEntry

from ..models import Suppression, SuppressionChange

_IN_CHUNK = 500
_FIELDS = ("status", "reason", "ip", "created", "removed_at", "last_seen")


class CachedEntry(NamedTuple):
    """What reconciling needs of a cached row."""

    pk: int
    email: str
    group_id: int | None
    status: str
    reason: str
    ip: str
    created: datetime
    removed_at: datetime | None


def entry_key(email: str, group_id: int | None) -> Hashable:
    return email if group_id is None else (group_id, email)


def cached_entries(
    subuser: Subuser, name: str, emails: list[str] | None = None
) -> dict[Hashable, CachedEntry]:
    """The list's cached rows of the subuser by key: all of them, or those of `emails`."""
    qs = (
        Suppression.objects.filter(subuser=subuser, list=name)
        .order_by()
        .values_list(*CachedEntry._fields)
    )
    if emails is None:
        return {entry_key(r[1], r[2]): CachedEntry(*r) for r in qs.iterator(chunk_size=5000)}
    found: dict[Hashable, CachedEntry] = {}
    for chunk in chunks(emails, _IN_CHUNK):
        found.update((entry_key(r[1], r[2]), CachedEntry(*r)) for r in qs.filter(email__in=chunk))
    return found


@dataclass
class Download:
    """What a refresh found upstream, by key; `gone` are the cached keys it found missing (a full
    refresh's removals, already confirmed)."""

    rows: dict[Hashable, UpstreamEntry]
    cached: dict[Hashable, CachedEntry]
    gone: list[Hashable] = field(default_factory=list)


def reconcile_entries(
    subuser: Subuser,
    name: str,
    download: Download,
    *,
    run: RefreshRun,
    group_of: dict[Hashable, int | None] | None = None,
) -> bool:
    """Write the download; True when the list changed. `group_of` gives a new key's group."""
    now = timezone.now()
    new: list[Suppression] = []
    changed: list[Suppression] = []
    unchanged: list[int] = []
    history: list[SuppressionChange] = []
    for key, up in download.rows.items():
        row = download.cached.get(key)
        created = datetime.fromtimestamp(up.created, tz=UTC)
        if row is None:
            new.append(
                Suppression(
                    subuser=subuser, list=name, group_id=(group_of or {}).get(key),
                    email=up.email, created=created, status=up.status, reason=up.reason,
                    ip=up.ip, first_seen=now, last_seen=now,
                )
            )  # fmt: skip
            continue
        same = (row.status, row.reason, row.ip, row.created) == (
            up.status, up.reason, up.ip, created,
        )  # fmt: skip
        if row.removed_at is None and same:
            unchanged.append(row.pk)
            continue
        reappeared = row.removed_at is not None
        run.reappeared += reappeared
        kind = SuppressionChange.Kind.REAPPEARED if reappeared else SuppressionChange.Kind.CHANGED
        history.append(_change(row, kind, now, run))
        changed.append(
            Suppression(
                pk=row.pk, status=up.status, reason=up.reason, ip=up.ip, created=created,
                removed_at=None, last_seen=now,
            )
        )  # fmt: skip
    gone = [download.cached[key] for key in download.gone]
    for chunk in chunks([row.pk for row in gone], _IN_CHUNK):
        Suppression.objects.filter(pk__in=chunk).update(removed_at=now)
    history.extend(_change(row, SuppressionChange.Kind.REMOVED, now, run) for row in gone)
    for chunk in chunks(unchanged, _IN_CHUNK):
        Suppression.objects.filter(pk__in=chunk).update(last_seen=now)
    Suppression.objects.bulk_update(changed, _FIELDS, batch_size=_IN_CHUNK)
    Suppression.objects.bulk_create(new, batch_size=bulk_create_batch())
    SuppressionChange.objects.bulk_create(history, batch_size=bulk_create_batch())
    run.fetched = len(download.rows)
    run.created = len(new)
    run.updated = len(changed)
    run.removed = len(gone)
    return bool(new or changed or gone)


def _change(row: CachedEntry, kind: str, now: datetime, run: RefreshRun) -> SuppressionChange:
    return SuppressionChange(
        suppression_id=row.pk, kind=kind, at=now, run=run,
        old_status=row.status, old_reason=row.reason, old_created=row.created,
    )  # fmt: skip
