"""Refreshing the cache of one subuser's bounce list from SendGrid.

A refresh downloads first and writes after: every page is fetched into memory, then one
transaction reconciles the cache. A refresh that fails anywhere (upstream, lease, database)
records the failure and leaves the cached rows exactly as they were.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.sendgrid import SendGridClient, SendGridError, UpstreamBounce, get_client

from .classification import bounce_type, classify
from .locks import LockLost, SubuserLease
from .models import Bounce, BounceChange, RefreshRun, Subuser
from .summaries import bounce_summaries_rebuild

log = logging.getLogger(__name__)

# Would-be removals up to this many are confirmed one address at a time; more trigger a second
# listing. Either way an entry skipped because the list shifted while it was paged is not lost.
CONFIRM_ONE_BY_ONE_MAX = 20
# Each page of a listing re-reads this many entries of the page before, so the refresh can check
# that consecutive pages join up: fewer removals than this ahead of the cursor between two pages
# are absorbed; more are detected (the previous page's last entry is not on the next one) and
# the listing is repeated, since offsets skipped live entries.
PAGE_OVERLAP = 10
# Listings per refresh at most (the first, repeats of listings that did not join up, the second
# listing that confirms many removals). A list that will not hold still for this many fails the
# refresh, which writes nothing, rather than let a torn listing decide what was removed.
MAX_LISTINGS = 3
_IN_CHUNK = 500
_UPDATE_FIELDS = ["status", "reason", "created", "type", "classification", "fault"]


class RefreshAlreadyRunning(Exception):
    """Another refresh of this subuser holds the lease."""


class ListKeptChanging(Exception):
    """No listing joined up within MAX_LISTINGS: the list changed under every one of them."""


class Cached(NamedTuple):
    """What reconciling needs of a cached row."""

    pk: int
    status: str
    reason: str
    created: datetime
    removed_at: datetime | None
    repeat_of_id: int | None


@dataclass
class Upstream:
    rows: dict[str, UpstreamBounce]
    pages: int = 0
    listings: int = 0


def bounces_refresh(
    *, subuser: Subuser, full: bool, client: SendGridClient | None = None
) -> RefreshRun:
    """Refresh one subuser's cached bounces; returns the recorded run (ok or failed)."""
    lease = SubuserLease(subuser.pk)
    if not lease.acquire():
        raise RefreshAlreadyRunning(f"a refresh of {subuser.username} is already running")
    own_client = client is None
    client = client or get_client()
    requests_before = client.requests_made
    run = RefreshRun.objects.create(
        subuser=subuser,
        kind=RefreshRun.Kind.FULL if full else RefreshRun.Kind.INCREMENTAL,
        started_at=timezone.now(),
    )
    Subuser.objects.filter(pk=subuser.pk).update(last_refresh=run, refresh_queued_at=None)
    audit_record(
        AuditEvent.Action.REFRESH_STARTED, subuser=subuser.username, details={"kind": run.kind,
        "run": run.pk}, key=f"refresh:{run.pk}:started",
    )  # fmt: skip
    try:
        upstream = _download(client, subuser, lease, full=full)
        if full:
            _confirm_removals(client, subuser, lease, upstream)
        with transaction.atomic():
            lease.extend()  # still ours: nobody else wrote this subuser meanwhile
            _reconcile(subuser, upstream, full=full, run=run)
    except (SendGridError, LockLost, ListKeptChanging, DatabaseError) as exc:
        _finish(run, client.requests_made - requests_before, error=_describe(exc))
        log.warning("refresh of %s failed: %s", subuser.username, run.error)
        return run
    except BaseException as exc:
        _finish(run, client.requests_made - requests_before, error=_describe(exc))
        raise
    finally:
        lease.release()
        if own_client:
            client.close()
    _finish(run, client.requests_made - requests_before)
    log.info(
        "refresh of %s: fetched %d, created %d, updated %d, removed %d",
        subuser.username, run.fetched, run.created, run.updated, run.removed,
    )  # fmt: skip
    return run


def _download(client: SendGridClient, subuser: Subuser, lease: SubuserLease, *, full: bool):
    upstream = Upstream(rows={})
    _list_until_joined(client, subuser, lease, upstream, full=full)
    return upstream


def _list_until_joined(
    client: SendGridClient, subuser: Subuser, lease: SubuserLease, upstream: Upstream, *, full: bool
) -> None:
    """List (again) until one listing's pages all join up; every listing adds to the rows.

    A listing whose pages joined saw every entry that was upstream, unchanged, from its first
    page to its last; what it missed was removed, added or re-dated meanwhile.
    """
    start_time = None if full else _incremental_start(subuser)
    while upstream.listings < MAX_LISTINGS:
        if _list_once(client, subuser, lease, upstream, start_time):
            return
        log.info("bounce list of %s shifted while paged; listing again", subuser.username)
    raise ListKeptChanging(
        f"the bounce list of {subuser.username} changed while it was paged, in each of"
        f" {MAX_LISTINGS} listings; nothing was written, the next refresh tries again"
    )


def _list_once(
    client: SendGridClient,
    subuser: Subuser,
    lease: SubuserLease,
    upstream: Upstream,
    start_time: int | None,
) -> bool:
    """One walk through the list, merged into `upstream`; True when every page joined up."""
    upstream.listings += 1
    pages = client.iter_bounce_pages(subuser.username, start_time=start_time, overlap=PAGE_OVERLAP)
    joined = True
    last: str | None = None
    for page in _extending(pages, lease):
        upstream.pages += 1
        # The page re-reads the end of the one before; if the previous last entry is not on it,
        # the offsets moved by more than the overlap and entries in between may be skipped.
        if last is not None and all(b.email != last for b in page):
            joined = False
        _merge(upstream.rows, page)
        last = page[-1].email if page else None
    return joined


def _extending(pages: Iterator[list[UpstreamBounce]], lease: SubuserLease):
    """Pass pages through, renewing the lease now and then so a long refresh keeps it."""
    renewed = time.monotonic()
    for page in pages:
        if time.monotonic() - renewed > lease.seconds / 4:
            lease.extend()
            renewed = time.monotonic()
        yield page


def _merge(rows: dict[str, UpstreamBounce], page: Iterable[UpstreamBounce]) -> None:
    for bounce in page:
        seen = rows.get(bounce.email)
        if seen is None or bounce.created >= seen.created:
            rows[bounce.email] = bounce


def _incremental_start(subuser: Subuser) -> int | None:
    newest = Bounce.objects.filter(subuser=subuser).aggregate(newest=Max("created"))["newest"]
    if newest is None:
        return None
    return int(newest.timestamp()) - settings.REFRESH_OVERLAP_SECONDS


def _confirm_removals(
    client: SendGridClient, subuser: Subuser, lease: SubuserLease, upstream: Upstream
) -> None:
    """Re-check addresses the listing lacks before they are marked removed.

    A listing whose pages joined up still misses entries that moved behind the cursor while it
    ran (a repeat bounce takes an address to the front). Few candidates are looked up one by
    one, which is exact. Many trigger another listing (which must join up too) and whatever any
    listing saw counts as present; if that leaves few, they are looked up one by one as well.
    """
    missing = _missing(subuser, upstream)
    if len(missing) > CONFIRM_ONE_BY_ONE_MAX and upstream.listings < 2:
        _list_until_joined(client, subuser, lease, upstream, full=True)
        missing = _missing(subuser, upstream)
    if len(missing) <= CONFIRM_ONE_BY_ONE_MAX:
        for email in missing:
            found = client.get_bounce(subuser.username, email)
            if found is not None:
                _merge(upstream.rows, [found])


def _missing(subuser: Subuser, upstream: Upstream) -> list[str]:
    active = Bounce.objects.filter(subuser=subuser, removed_at__isnull=True)
    return [e for e in active.values_list("email", flat=True) if e not in upstream.rows]


def _reconcile(subuser: Subuser, upstream: Upstream, *, full: bool, run: RefreshRun) -> None:
    now = timezone.now()
    existing = _existing(subuser, None if full else list(upstream.rows))
    new: list[Bounce] = []
    changed: list[Bounce] = []
    history: list[BounceChange] = []
    for email, up in upstream.rows.items():
        created = datetime.fromtimestamp(up.created, tz=UTC)
        row = existing.get(email)
        if row is None:
            new.append(_bounce(subuser, up, created, now))
            continue
        same = (row.status, row.reason, row.created) == (up.status, up.reason, created)
        if row.removed_at is None and same:
            continue
        fresh = _bounce(subuser, up, created, now)
        fresh.pk = row.pk
        fresh.repeat_of_id = row.repeat_of_id
        changed.append(fresh)
        reappeared = row.removed_at is not None
        run.reappeared += reappeared
        kind = BounceChange.Kind.REAPPEARED if reappeared else BounceChange.Kind.CHANGED
        history.append(_change(row, kind, now, run))

    _flag_repeats([b for b in changed if existing[b.email].removed_at is not None], subuser)
    Bounce.objects.bulk_create(new, batch_size=_insert_batch())
    Bounce.objects.bulk_update(
        changed, [*_UPDATE_FIELDS, "removed_at", "repeat_of"], batch_size=500
    )

    if full:
        gone = [
            row
            for email, row in existing.items()
            if row.removed_at is None and email not in upstream.rows
        ]
        for chunk in _chunks([row.pk for row in gone]):
            Bounce.objects.filter(pk__in=chunk).update(removed_at=now)
        history.extend(_change(row, BounceChange.Kind.REMOVED, now, run) for row in gone)
        run.removed = len(gone)
        # Everything still active was in this listing.
        Bounce.objects.filter(subuser=subuser, removed_at__isnull=True).update(last_seen=now)
    else:
        for chunk in _chunks(list(upstream.rows)):
            Bounce.objects.filter(subuser=subuser, email__in=chunk).update(last_seen=now)

    BounceChange.objects.bulk_create(history, batch_size=_insert_batch())
    bounce_summaries_rebuild(subuser_id=subuser.pk)
    run.pages = upstream.pages
    run.fetched = len(upstream.rows)
    run.created = len(new)
    run.updated = len(changed)


def _flag_repeats(reappeared: list[Bounce], subuser: Subuser) -> None:
    """An address back on the list after we pushed its removal is a repeat of that removal."""
    from bounceadmin.deletions.models import DeletionItem

    emails = [b.email for b in reappeared]
    latest: dict[str, int] = {}
    for chunk in _chunks(emails):
        done = DeletionItem.objects.filter(
            request__subuser=subuser, state=DeletionItem.State.DONE, email__in=chunk
        ).order_by("email", "pushed_at")
        latest.update(done.values_list("email", "pk"))  # the last one per email wins
    for bounce in reappeared:
        if bounce.email in latest:
            bounce.repeat_of_id = latest[bounce.email]


def _change(row: Cached, kind: str, now: datetime, run: RefreshRun) -> BounceChange:
    return BounceChange(
        bounce_id=row.pk, kind=kind, at=now, run=run,
        old_status=row.status, old_reason=row.reason, old_created=row.created,
    )  # fmt: skip


def _existing(subuser: Subuser, emails: list[str] | None) -> dict[str, Cached]:
    """The subuser's cached rows by email: all of them, or those of `emails`."""
    qs = Bounce.objects.filter(subuser=subuser).values_list("email", *Cached._fields)
    if emails is None:
        return {row[0]: Cached(*row[1:]) for row in qs.iterator(chunk_size=5000)}
    found: dict[str, Cached] = {}
    for chunk in _chunks(emails):
        found.update((row[0], Cached(*row[1:])) for row in qs.filter(email__in=chunk))
    return found


def _bounce(subuser: Subuser, up: UpstreamBounce, created: datetime, now: datetime) -> Bounce:
    classification, fault = classify(up.status, up.reason)
    return Bounce(
        subuser=subuser,
        email=up.email,
        status=up.status,
        reason=up.reason,
        created=created,
        type=bounce_type(up.status, up.reason),
        classification=classification,
        fault=fault,
        first_seen=now,
        last_seen=now,
        removed_at=None,
    )


def _finish(run: RefreshRun, requests: int, *, error: str = "") -> None:
    run.finished_at = timezone.now()
    run.requests = requests
    run.outcome = RefreshRun.Outcome.FAILED if error else RefreshRun.Outcome.OK
    run.error = error
    if error:
        # Nothing of the failed attempt was written: report the counts as zero.
        run.fetched = run.created = run.updated = run.removed = run.reappeared = 0
    run.save()
    if not error:
        Subuser.objects.filter(pk=run.subuser_id).update(last_success_at=run.finished_at)
    audit_record(
        AuditEvent.Action.REFRESH_FAILED if error else AuditEvent.Action.REFRESH_FINISHED,
        subuser=run.subuser.username,
        details={"kind": run.kind, "run": run.pk, "fetched": run.fetched, "created": run.created,
                 "updated": run.updated, "removed": run.removed, "error": error},
        key=f"refresh:{run.pk}:finished",
    )  # fmt: skip


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SendGridError | LockLost | ListKeptChanging):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"[:1000]


def _chunks(items: list, size: int = _IN_CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _insert_batch() -> int | None:
    # SQLite: let Django size batches to its variable limit; elsewhere keep statements moderate.
    return None if connection.vendor == "sqlite" else 2000


def refresh_mark_interrupted() -> int:
    """Runs still 'running' whose subuser lease is free were cut off (a killed worker)."""
    now = timezone.now()
    free = Q(subuser__lock_expires_at__isnull=True) | Q(subuser__lock_expires_at__lt=now)
    return RefreshRun.objects.filter(free, outcome=RefreshRun.Outcome.RUNNING).update(
        outcome=RefreshRun.Outcome.FAILED,
        finished_at=now,
        error="Interrupted: the worker stopped before the refresh finished. Nothing was written.",
    )


def stale_before() -> datetime:
    return timezone.now() - timedelta(minutes=settings.REFRESH_STALE_MINUTES)
