"""Writing a download of one list into the cache, in the caller's transaction: new entries,
changed ones, removals and their history. Entries are keyed by address, or by (group, address)
for group unsubscribes."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from django.db import connection
from django.utils import timezone

from bounceadmin.bounces.models import RefreshRun, Subuser
from bounceadmin.bounces.refresh.database import datetime_to_db, epoch_to_db, rows_insert, rows_read
from bounceadmin.chunks import chunks
from bounceadmin.sendgrid.listentries import UpstreamEntry

from ..models import Suppression, SuppressionChange

_IN_CHUNK = 500
_BATCH = 2000
# The columns of a new row, of a changed row (its pk last) and of a history row, in the order
# reconcile_entries makes their tuples. Rows go in as plain tuples (bounces/refresh/bulkwrite.py
# does the same for bounces): Django's bulk_create spent most of a first load preparing values.
_INSERT = ("subuser_id", "list", "group_id", "email", "created", "status", "reason", "ip",
           "first_seen", "last_seen")  # fmt: skip
_UPDATE = ("status", "reason", "ip", "created", "removed_at", "last_seen")
_HISTORY = ("suppression_id", "kind", "at", "run_id", "old_status", "old_reason", "old_created")


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
        return {entry_key(r[1], r[2]): CachedEntry(*r) for r in rows_read(qs)}
    found: dict[Hashable, CachedEntry] = {}
    for chunk in chunks(emails, _IN_CHUNK):
        found.update((entry_key(r[1], r[2]), CachedEntry(*r)) for r in qs.filter(email__in=chunk))
    return found


@dataclass
class Download:
    """What a refresh found upstream, by key; `gone` are the cached keys it found missing (a full
    refresh's removals, already confirmed). `full`: `cached` holds every cached row of the list
    and `gone` every active one that `rows` lacks."""

    rows: dict[Hashable, UpstreamEntry]
    cached: dict[Hashable, CachedEntry]
    gone: list[Hashable] = field(default_factory=list)
    full: bool = False


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
    to_db, epoch_db = datetime_to_db(), epoch_to_db()
    stamp = to_db(now)
    group_of = group_of or {}
    new: list[tuple] = []
    changed: list[tuple] = []
    unchanged: list[int] = []
    history: list[tuple] = []
    for key, up in download.rows.items():
        row = download.cached.get(key)
        if row is None:
            new.append(
                (subuser.pk, name, group_of.get(key), up.email, epoch_db(up.created), up.status,
                 up.reason, up.ip, stamp, stamp)
            )  # fmt: skip
            continue
        created = datetime.fromtimestamp(up.created, tz=UTC)
        same = (row.status, row.reason, row.ip, row.created) == (
            up.status, up.reason, up.ip, created,
        )  # fmt: skip
        if row.removed_at is None and same:
            unchanged.append(row.pk)
            continue
        reappeared = row.removed_at is not None
        run.reappeared += reappeared
        kind = SuppressionChange.Kind.REAPPEARED if reappeared else SuppressionChange.Kind.CHANGED
        history.append(_change(row, kind, stamp, run, to_db))
        changed.append((up.status, up.reason, up.ip, to_db(created), None, stamp, row.pk))
    gone = [download.cached[key] for key in download.gone]
    for chunk in chunks([row.pk for row in gone], _IN_CHUNK):
        Suppression.objects.filter(pk__in=chunk).update(removed_at=now)
    history.extend(_change(row, SuppressionChange.Kind.REMOVED, stamp, run, to_db) for row in gone)
    if download.full and unchanged:
        # Every row still active was listed (the removals are marked above): one statement, not
        # one per 500 rows; changed rows get their own values below, new ones go in after.
        Suppression.objects.filter(subuser=subuser, list=name, removed_at__isnull=True).update(
            last_seen=now
        )
    else:
        for chunk in chunks(unchanged, _IN_CHUNK):
            Suppression.objects.filter(pk__in=chunk).update(last_seen=now)
    _update(changed)
    _insert(Suppression, _INSERT, new)
    _insert(SuppressionChange, _HISTORY, history)
    run.fetched = len(download.rows)
    run.created = len(new)
    run.updated = len(changed)
    run.removed = len(gone)
    return bool(new or changed or gone)


def _change(row: CachedEntry, kind: str, stamp, run: RefreshRun, to_db) -> tuple:
    old_created = to_db(row.created)
    return (row.pk, str(kind), stamp, run.pk, row.status, row.reason, old_created)


def _column(model, field: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field.removesuffix("_id")).column)


def _insert(model, fields: tuple[str, ...], rows: list[tuple]) -> None:
    if rows:
        table = connection.ops.quote_name(model._meta.db_table)
        rows_insert(table, [_column(model, f) for f in fields], rows)


def _update(rows: list[tuple]) -> None:
    """Rewrite changed rows: tuples in _UPDATE order, then the pk."""
    if not rows:
        return
    table = connection.ops.quote_name(Suppression._meta.db_table)
    assignments = ", ".join(f"{_column(Suppression, f)} = %s" for f in _UPDATE)
    sql = f"UPDATE {table} SET {assignments} WHERE {_column(Suppression, 'id')} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        for i in range(0, len(rows), _BATCH):
            cursor.executemany(sql, rows[i : i + _BATCH])
