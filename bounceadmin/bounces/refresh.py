"""Refreshing the cache of one subuser's bounce list from SendGrid.

A refresh downloads first and writes after: every page is fetched into memory, then one
transaction reconciles the cache. The subuser's lease, which every writer of its cached rows
holds (refreshes and deletion pushes), keeps the rows read before the download valid until then.
A refresh that fails anywhere (upstream, lease, database) records the failure and leaves the
cached rows exactly as they were.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.csvstream import raw_chunks
from bounceadmin.prefetch import prefetched
from bounceadmin.sendgrid import (
    Adjustment,
    SendGridClient,
    SendGridError,
    UpstreamBounce,
    get_client,
)

from .bulkwrite import (
    bounces_insert,
    bounces_update,
    datetime_to_db,
    epoch_to_db,
    writer_cache,
)
from .derivation import Derived, Deriver, Key, collect, derive
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
RUN_ADJUSTMENTS_KEPT = 100
INTERRUPTED = "Interrupted: the refresh was stopped before it was written. Nothing was written."


class RefreshAlreadyRunning(Exception):
    """Another refresh of this subuser holds the lease."""


class ListKeptChanging(Exception):
    """No listing joined up within MAX_LISTINGS: the list changed under every one of them."""


# What a download may fail with that fails only its own refresh.
DOWNLOAD_FAILURES = (SendGridError, ListKeptChanging)


class Cached(NamedTuple):
    """What reconciling needs of a cached row."""

    pk: int
    email: str
    status: str
    reason: str
    created: datetime
    removed_at: datetime | None
    repeat_of_id: int | None


@dataclass
class Upstream:
    rows: dict[str, UpstreamBounce]
    # A full refresh reads the subuser's cached rows once, before listing (the lease keeps every
    # other writer out until the reconcile): listing compares pages with them as they come.
    cached: dict[str, Cached] = field(default_factory=dict)
    # Type, classification and fault of each (status, reason) seen. Pages are handed to the
    # deriver as they arrive, and what it worked out is collected before the reconcile.
    derived: dict[Key, Derived] = field(default_factory=dict)
    deriver: Deriver = field(default_factory=Deriver)
    submitted: list[tuple[list[Key], Future]] = field(default_factory=list)
    asked: set[Key] = field(default_factory=set)
    # Entries the client adjusted or set aside, once each however often they were listed.
    adjustments: dict[Adjustment, None] = field(default_factory=dict)
    pages: int = 0
    listings: int = 0

    def derive(self, up: UpstreamBounce) -> Derived:
        """Type, classification and fault of a bounce, worked out once per (status, reason)."""
        key = (up.status, up.reason)
        found = self.derived.get(key)
        if found is None:
            found = self.derived[key] = derive(*key)
        return found

    def derive_changed(self, page: list[UpstreamBounce]) -> None:
        """Hand the deriver what the reconcile will need for entries that are new or changed."""
        keys = []
        for up in page:
            row = self.cached.get(up.email)
            if row is None or row.status != up.status or row.reason != up.reason:
                key = (up.status, up.reason)
                if key not in self.asked:
                    self.asked.add(key)
                    keys.append(key)
        if keys:
            self.submitted.append((keys, self.deriver.submit(keys)))

    def collect(self) -> None:
        """Take in what the deriver has worked out (waiting for it): before the reconcile."""
        collect(self.submitted, into=self.derived)
        self.submitted.clear()


def bounces_refresh(
    *, subuser: Subuser, full: bool, client: SendGridClient | None = None
) -> RefreshRun:
    """Refresh one subuser's cached bounces; returns the recorded run (ok or failed)."""
    own_client = client is None
    client = client or get_client()
    try:
        refresh = SubuserRefresh(subuser, full=full, client=client)
        return refresh.complete(lambda: refresh.download(keep_alive=_Renewer(refresh.lease)))
    finally:
        if own_client:
            client.close()


class Interrupted(Exception):
    """The refresh was stopped after it began and before it was written."""


class SubuserRefresh:
    """One subuser's refresh in its steps: begin (here), download, write, finish. Beginning,
    writing and finishing use the database; downloading only the network, so that
    `refresh_pipeline` can download one subuser while it writes others."""

    def __init__(
        self,
        subuser: Subuser,
        *,
        full: bool,
        client: SendGridClient,
        deriver: Deriver | None = None,
    ) -> None:
        self.lease = SubuserLease(subuser.pk)
        if not self.lease.acquire():
            raise RefreshAlreadyRunning(f"a refresh of {subuser.username} is already running")
        self.subuser, self.full, self.client = subuser, full, client
        self.requests = 0
        self.failure: BaseException | None = None
        with transaction.atomic():  # one commit, not three
            self.run = run = RefreshRun.objects.create(
                subuser=subuser,
                kind=RefreshRun.Kind.FULL if full else RefreshRun.Kind.INCREMENTAL,
                started_at=timezone.now(),
            )
            Subuser.objects.filter(pk=subuser.pk).update(last_refresh=run, refresh_queued_at=None)
            audit_record(
                AuditEvent.Action.REFRESH_STARTED, subuser=subuser.username,
                details={"kind": run.kind, "run": run.pk}, key=f"refresh:{run.pk}:started",
            )  # fmt: skip
        try:
            self.upstream = Upstream(
                rows={},
                cached=_existing(subuser, None) if full else {},
                deriver=deriver or Deriver(),
            )
            self.start_time = None if full else _incremental_start(subuser)
        except BaseException as exc:
            self.failure = exc
            self.finish()
            raise

    def download(self, keep_alive: Callable[[], None] = lambda: None) -> None:
        before = self.client.requests_made
        try:
            _list_until_joined(self, keep_alive)
            if self.full:
                _confirm_removals(self, keep_alive)
        finally:
            self.requests += self.client.requests_made - before

    def write(self, *, summaries: bool = True) -> bool:
        """Reconcile the cache with the download; the caller holds the transaction. Rebuilds
        the overview's summaries when anything changed, unless the caller does that itself
        (`summaries=False`). True when anything changed."""
        writer_cache()
        self.upstream.collect()
        self.lease.extend()  # still ours: nobody else wrote this subuser meanwhile
        changed = _reconcile(self.subuser, self.upstream, full=self.full, run=self.run)
        if changed and summaries:
            bounce_summaries_rebuild(subuser_id=self.subuser.pk)
        return changed

    def complete(self, download: Callable[[], None]) -> RefreshRun:
        """Download (by calling `download`), write in a transaction of its own, and finish."""
        try:
            download()
            with transaction.atomic():
                self.write()
        except (*DOWNLOAD_FAILURES, LockLost, DatabaseError) as exc:
            self.failure = exc
        except BaseException as exc:
            self.failure = exc
            self.finish()
            raise
        return self.finish()

    def finish(self) -> RefreshRun:
        """Record the run, ok or failed (then nothing was written), and free the lease."""
        run = self.run
        try:
            with transaction.atomic():  # one commit, not three
                _finish(run, self.requests, error=_describe(self.failure) if self.failure else "")
        finally:
            self.lease.release()
        if self.failure:
            log.warning("refresh of %s failed: %s", self.subuser.username, run.error)
        else:
            log.info(
                "refresh of %s: fetched %d, created %d, updated %d, removed %d",
                self.subuser.username, run.fetched, run.created, run.updated, run.removed,
            )  # fmt: skip
        return run


class _Renewer:
    """Renews a lease when called, at most every quarter of its length."""

    def __init__(self, lease: SubuserLease) -> None:
        self.lease = lease
        self.renewed = time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() - self.renewed > self.lease.seconds / 4:
            self.lease.extend()
            self.renewed = time.monotonic()


def _list_until_joined(refresh: SubuserRefresh, keep_alive: Callable[[], None]) -> None:
    """List (again) until one listing's pages all join up; every listing adds to the rows.

    A listing whose pages joined saw every entry that was upstream, unchanged, from its first
    page to its last; what it missed was removed, added or re-dated meanwhile.
    """
    upstream, name = refresh.upstream, refresh.subuser.username
    while upstream.listings < MAX_LISTINGS:
        if _list_once(refresh, keep_alive):
            return
        log.info("bounce list of %s shifted while paged; listing again", name)
    raise ListKeptChanging(
        f"the bounce list of {name} changed while it was paged, in each of"
        f" {MAX_LISTINGS} listings; nothing was written, the next refresh tries again"
    )


def _list_once(refresh: SubuserRefresh, keep_alive: Callable[[], None]) -> bool:
    """One walk through the list, merged into the upstream rows; True when every page joined."""
    upstream = refresh.upstream
    upstream.listings += 1
    pages = refresh.client.iter_bounce_pages(
        refresh.subuser.username, start_time=refresh.start_time, overlap=PAGE_OVERLAP
    )
    joined = True
    last: str | None = None
    for page in prefetched(pages):
        keep_alive()
        upstream.pages += 1
        # The page re-reads the end of the one before; if the previous last entry is not on it,
        # the offsets moved by more than the overlap and entries in between may be skipped.
        if last is not None and not page.has_email(last):
            joined = False
        _merge(upstream.rows, page)
        upstream.derive_changed(page)
        upstream.adjustments.update(dict.fromkeys(page.adjustments))
        last = page.last_email
    return joined


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


def _confirm_removals(refresh: SubuserRefresh, keep_alive: Callable[[], None]) -> None:
    """Re-check addresses the listing lacks before they are marked removed.

    A listing whose pages joined up still misses entries that moved behind the cursor while it
    ran (a repeat bounce takes an address to the front). Few candidates are looked up one by
    one, which is exact. Many trigger another listing (which must join up too) and whatever any
    listing saw counts as present; if that leaves few, they are looked up one by one as well.
    """
    upstream = refresh.upstream
    missing = _missing(upstream)
    if len(missing) > CONFIRM_ONE_BY_ONE_MAX and upstream.listings < 2:
        _list_until_joined(refresh, keep_alive)
        missing = _missing(upstream)
    if len(missing) <= CONFIRM_ONE_BY_ONE_MAX:
        for email in missing:
            keep_alive()
            found = refresh.client.get_bounce(refresh.subuser.username, email)
            if found is not None:
                _merge(upstream.rows, [found])


def _missing(upstream: Upstream) -> list[str]:
    """Cached active addresses that no listing has shown."""
    return [
        email
        for email, row in upstream.cached.items()
        if row.removed_at is None and email not in upstream.rows
    ]


def _reconcile(subuser: Subuser, upstream: Upstream, *, full: bool, run: RefreshRun) -> bool:
    """Write what the download found; True when the subuser's bounces changed (the overview's
    summaries are then out of date)."""
    now = timezone.now()
    to_db, epoch_db = datetime_to_db(), epoch_to_db()
    stamp = to_db(now)
    existing = upstream.cached if full else _existing(subuser, list(upstream.rows))
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
        gone = [existing[email] for email in _missing(upstream)]
        for chunk in _chunks([row.pk for row in gone]):
            Bounce.objects.filter(pk__in=chunk).update(removed_at=now)
        history.extend(_change(row, BounceChange.Kind.REMOVED, now, run) for row in gone)
        run.removed = len(gone)
        # Everything still active was in this listing (written before the new rows go in, so
        # that it touches only rows cached before).
        if unchanged:
            Bounce.objects.filter(subuser=subuser, removed_at__isnull=True).update(last_seen=now)
    else:
        for chunk in _chunks(unchanged):
            Bounce.objects.filter(pk__in=chunk).update(last_seen=now)

    repeats = _repeats_of([row for _, _, row in changed if row.removed_at is not None], subuser)
    bounces_update(
        [
            (up.status, up.reason, to_db(created), *upstream.derive(up), None,
             repeats.get(row.pk, row.repeat_of_id), stamp, row.pk)
            for up, created, row in changed
        ]
    )  # fmt: skip
    bounces_insert(new)
    BounceChange.objects.bulk_create(history, batch_size=_insert_batch())
    run.pages = upstream.pages
    run_adjustments_note(run, list(upstream.adjustments))
    run.fetched = len(upstream.rows)
    run.created = len(new)
    run.updated = len(changed)
    return bool(new or changed or history)  # history holds the removals too


def _repeats_of(reappeared: list[Cached], subuser: Subuser) -> dict[int, int]:
    """An address back on the list after we pushed its removal is a repeat of that removal:
    the latest done deletion item of each reappeared row (by the row's pk)."""
    from bounceadmin.deletions.models import DeletionItem

    by_email = {row.email: row.pk for row in reappeared}
    latest: dict[int, int] = {}
    for chunk in _chunks(list(by_email)):
        done = DeletionItem.objects.filter(
            request__subuser=subuser, state=DeletionItem.State.DONE, email__in=chunk
        ).order_by("email", "pushed_at")
        # The last one per email wins.
        latest.update((by_email[email], pk) for email, pk in done.values_list("email", "pk"))
    return latest


def _change(row: Cached, kind: str, now: datetime, run: RefreshRun) -> BounceChange:
    return BounceChange(
        bounce_id=row.pk, kind=kind, at=now, run=run,
        old_status=row.status, old_reason=row.reason, old_created=row.created,
    )  # fmt: skip


def _existing(subuser: Subuser, emails: list[str] | None) -> dict[str, Cached]:
    """The subuser's cached rows by email: all of them, or those of `emails`."""
    qs = Bounce.objects.filter(subuser=subuser).order_by().values_list(*Cached._fields)
    if emails is None:
        if connection.vendor == "postgresql":
            # Plain tuples through psycopg's own timestamp loader, in C: Django's, in Python,
            # was half of a no-change full refresh of a million rows.
            return {row[1]: Cached(*row) for chunk in raw_chunks(qs, 5000) for row in chunk}
        return {row[1]: Cached(*row) for row in qs.iterator(chunk_size=5000)}
    found: dict[str, Cached] = {}
    for chunk in _chunks(emails):
        found.update((row[1], Cached(*row)) for row in qs.filter(email__in=chunk))
    return found


def _finish(run: RefreshRun, requests: int, *, error: str = "") -> None:
    run.finished_at = timezone.now()
    run.requests = requests
    run.outcome = RefreshRun.Outcome.FAILED if error else RefreshRun.Outcome.OK
    run.error = error
    if error:
        # Nothing of the failed attempt was written: report the counts as zero.
        run.fetched = run.created = run.updated = run.removed = run.reappeared = 0
        run_adjustments_note(run, [])
    run.save()
    if not error:
        Subuser.objects.filter(pk=run.subuser_id).update(last_success_at=run.finished_at)
    details = {"kind": run.kind, "run": run.pk, "fetched": run.fetched, "created": run.created,
               "updated": run.updated, "removed": run.removed, "error": error}  # fmt: skip
    if run.adjusted or run.set_aside:
        details.update(adjusted=run.adjusted, set_aside=run.set_aside)
    audit_record(
        AuditEvent.Action.REFRESH_FAILED if error else AuditEvent.Action.REFRESH_FINISHED,
        subuser=run.subuser.username,
        details=details,
        key=f"refresh:{run.pk}:finished",
    )


def run_adjustments_note(run: RefreshRun, adjustments: list[Adjustment]) -> None:
    """What the run stored other than as sent, or set aside: counts of entries, and the first
    RUN_ADJUSTMENTS_KEPT notes to show."""
    run.adjusted = len({a.entry for a in adjustments if not a.set_aside})
    run.set_aside = len({a.entry for a in adjustments if a.set_aside})
    run.adjustments = [a._asdict() for a in adjustments[:RUN_ADJUSTMENTS_KEPT]]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SendGridError | LockLost | ListKeptChanging | Interrupted):
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
