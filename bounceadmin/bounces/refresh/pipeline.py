"""Refreshing many subusers in one process (`manage.py refresh_bounces`), as a pipeline.

Each subuser is refreshed exactly as `bounces_refresh` does it (the same begin, download, write
and finish of a `SubuserRefresh`); only the order of the steps changes, so that the network and
the database are busy at the same time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing

from django.db import DatabaseError, transaction

from bounceadmin.sendgrid import SendGridClient

from ..models import RefreshRun, Subuser
from .derivation import Deriver
from .errors import DOWNLOAD_FAILURES, INTERRUPTED, Interrupted, RefreshAlreadyRunning
from .list_indexes import list_indexes_deferred_if_empty
from .locks import LockLost, leases_stand_still
from .subuser import SubuserRefresh
from .summaries import bounce_summaries_rebuild_many

# Subusers whose refreshes begin ahead of the one being written, the entries that may wait in
# memory to be written, and the most written in one transaction.
AHEAD = 32
AHEAD_ROWS = 100_000
GROUP_ROWS = 50_000


def bounces_refresh_each(
    subusers: Iterable[Subuser], *, full: bool, client: SendGridClient
) -> Iterator[tuple[Subuser, RefreshRun | RefreshAlreadyRunning]]:
    """Refresh subusers one after another, each as `bounces_refresh` does, in a pipeline that
    keeps one process busy on both ends. Yields each subuser with its run, or with the
    RefreshAlreadyRunning that skipped it.

    - Lists download one after another in a background thread (which never touches the
      database) while this thread writes the ones already downloaded.
    - Whatever has downloaded when this thread is ready to write is written in one
      transaction, each subuser in a savepoint of its own, so a failure still undoes only its
      own subuser. On a large cache most of a write's cost is the index pages it touches; one
      commit for many subusers writes each page once.
    - Memory stays bounded: refreshes begin ahead only while fewer than AHEAD_ROWS entries wait
      to be written, and a group holds at most GROUP_ROWS.
    - The first load of an empty cache runs without the list indexes and builds them at the
      end (see `list_indexes`).
    - Texts to classify go to a worker process (see `derivation`).
    """
    pending = iter(subusers)
    deriver = Deriver(worker=True)
    with (
        list_indexes_deferred_if_empty(),
        closing(deriver),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="refresh-download") as pool,
    ):
        yield from _pipeline(pending, full=full, client=client, pool=pool, deriver=deriver)


def _pipeline(
    pending: Iterator[Subuser],
    *,
    full: bool,
    client: SendGridClient,
    pool: ThreadPoolExecutor,
    deriver: Deriver,
) -> Iterator[tuple[Subuser, RefreshRun | RefreshAlreadyRunning]]:
    downloading: deque[tuple[SubuserRefresh, Future]] = deque()
    downloaded: list[SubuserRefresh] = []
    more = True
    try:
        while True:
            while more and len(downloading) < AHEAD and _held(downloading, downloaded) < AHEAD_ROWS:
                subuser = next(pending, None)
                if subuser is None:
                    more = False
                    break
                try:
                    refresh = SubuserRefresh(subuser, full=full, client=client, deriver=deriver)
                except RefreshAlreadyRunning as exc:
                    yield subuser, exc
                    continue
                downloading.append((refresh, pool.submit(refresh.download)))
            if not downloading:
                break
            downloaded.append(_downloaded(*downloading.popleft()))
            # Write now if the next download would keep us waiting, or the group is big.
            if not (downloading and downloading[0][1].done()) or _rows(downloaded) >= GROUP_ROWS:
                yield from _write_group(downloaded, holding=[each for each, _ in downloading])
        yield from _write_group(downloaded)
    finally:
        # Stopped early: what was begun and not written is recorded as not written.
        for _, download in downloading:
            download.cancel()
        for refresh in [*downloaded, *(refresh for refresh, _ in downloading)]:
            refresh.failure = refresh.failure or Interrupted(INTERRUPTED)
            refresh.finish()


def _rows(refreshes: Iterable[SubuserRefresh]) -> int:
    return sum(len(refresh.upstream.rows) for refresh in refreshes)


def _held(
    downloading: deque[tuple[SubuserRefresh, Future]], downloaded: list[SubuserRefresh]
) -> int:
    """Entries in memory waiting to be written."""
    return _rows(downloaded) + _rows(refresh for refresh, done in downloading if done.done())


def _downloaded(refresh: SubuserRefresh, download: Future) -> SubuserRefresh:
    """Wait for a download (the heartbeat keeps every lease meanwhile); a download that failed is
    recorded on its refresh."""
    try:
        download.result()
    except (*DOWNLOAD_FAILURES, LockLost) as exc:
        refresh.failure = exc
    except BaseException as exc:
        refresh.failure = exc
        refresh.finish()
        raise
    return refresh


def _write_group(
    group: list[SubuserRefresh], *, holding: Iterable[SubuserRefresh] = ()
) -> Iterator[tuple[Subuser, RefreshRun]]:
    """Write the downloaded refreshes in one transaction, one savepoint each, and rebuild the
    summaries of those that changed together; then record them. Every lease this pipeline holds
    (`holding`: those still downloading) is renewed as the transaction commits, however long it
    kept the heartbeat waiting (on SQLite for all of them, on PostgreSQL for the group's)."""
    if not group:
        return
    try:
        with transaction.atomic(), leases_stand_still():
            changed = []
            for refresh in group:
                if refresh.failure is None:
                    try:
                        with transaction.atomic():
                            if refresh.write(summaries=False):
                                changed.append(refresh.subuser.pk)
                    except (LockLost, DatabaseError) as exc:
                        refresh.failure = exc
            bounce_summaries_rebuild_many(changed)
            for refresh in [*group, *holding]:
                if refresh.failure is None:
                    try:
                        refresh.lease.extend()
                    except LockLost as exc:  # only one still downloading can have lost it
                        refresh.failure = exc
    except DatabaseError as exc:  # nothing of the group was written
        for refresh in group:
            refresh.failure = refresh.failure or exc
    with transaction.atomic():  # the group's runs recorded in one commit
        finished = [(refresh.subuser, refresh.finish()) for refresh in group]
    group.clear()  # recorded: nothing left for the caller to mark as interrupted
    yield from finished
