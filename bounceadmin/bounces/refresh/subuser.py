"""Refreshing the cache of one subuser's bounce list from SendGrid.

A refresh downloads first and writes after: every page is fetched into memory, then one
transaction reconciles the cache. The subuser's lease, which every writer of its cached rows
holds (refreshes and deletion pushes), keeps the rows read before the download valid until then.
A refresh that fails anywhere (upstream, lease, database) records the failure and leaves the
cached rows exactly as they were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DatabaseError, transaction
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.sendgrid import SendGridClient, get_client

from ..models import RefreshRun, Subuser
from .database import writer_cache
from .derivation import Deriver
from .errors import DOWNLOAD_FAILURES, RefreshAlreadyRunning
from .listing import Upstream, confirm_removals, incremental_start, list_until_joined
from .locks import LockLost, SubuserLease, leases_stand_still
from .reconcile import cached_rows, reconcile
from .runs import describe, refresh_mark_interrupted, run_finish
from .summaries import bounce_summaries_rebuild

log = logging.getLogger(__name__)


def bounces_refresh(
    *, subuser: Subuser, full: bool, client: SendGridClient | None = None, wait: bool = False
) -> RefreshRun:
    """Refresh one subuser's cached bounces; returns the recorded run (ok or failed).

    When another refresh or a push holds the subuser's lease: RefreshAlreadyRunning at once, or,
    with `wait`, once its holder is seen alive; a holder that stops renewing (a killed worker)
    is taken over as soon as its lease runs out.
    """
    own_client = client is None
    client = client or get_client()
    try:
        refresh = SubuserRefresh(subuser, full=full, client=client, wait=wait)
        return refresh.complete(refresh.download)
    finally:
        if own_client:
            client.close()


class SubuserRefresh:
    """One subuser's refresh in its steps: begin (here), download, write, finish. Beginning,
    writing and finishing use the database; downloading only the network, so that
    `refresh_pipeline` can download one subuser while it writes others.

    The bounce list's; another list's refresh (suppressions/refresh.py) overrides what differs:
    the pages it lists, the rows it reads and writes, and where its run is recorded.
    """

    list_name = "bounces"
    list_label = "bounce list"

    def __init__(
        self,
        subuser: Subuser,
        *,
        full: bool,
        client: SendGridClient,
        deriver: Deriver | None = None,
        wait: bool = False,
    ) -> None:
        self.lease = SubuserLease(subuser.pk)
        if not (self.lease.acquire() or (wait and self.lease.take_over())):
            raise RefreshAlreadyRunning(f"a refresh of {subuser.username} is already running")
        self.subuser, self.full, self.client = subuser, full, client
        self.requests = 0
        self.failure: BaseException | None = None
        with transaction.atomic():  # one commit, not four
            # A run still 'running' under the lease we now hold lost its worker.
            refresh_mark_interrupted(subuser_id=subuser.pk)
            self.run = run = RefreshRun.objects.create(
                subuser=subuser,
                list=self.list_name,
                kind=RefreshRun.Kind.FULL if full else RefreshRun.Kind.INCREMENTAL,
                started_at=timezone.now(),
            )
            self.run_started(run)
            details = {"kind": run.kind, "run": run.pk}
            if self.list_name != "bounces":
                details["list"] = self.list_name
            audit_record(
                AuditEvent.Action.REFRESH_STARTED, subuser=subuser.username,
                details=details, key=f"refresh:{run.pk}:started",
            )  # fmt: skip
        try:
            self.upstream = self.upstream_start(deriver)
            self.start_time = None if full else self.incremental_start()
        except BaseException as exc:
            self.failure = exc
            self.finish()
            raise

    # --- what another list's refresh overrides ---------------------------------------------------

    def run_started(self, run: RefreshRun) -> None:
        Subuser.objects.filter(pk=self.subuser.pk).update(last_refresh=run, refresh_queued_at=None)

    def upstream_start(self, deriver: Deriver | None) -> Upstream:
        cached = cached_rows(self.subuser, None) if self.full else {}
        return Upstream(rows={}, cached=cached, deriver=deriver or Deriver())

    def incremental_start(self) -> int | None:
        return incremental_start(self.subuser)

    def pages(self, *, start_time: int | None, overlap: int):
        return self.client.iter_bounce_pages(
            self.subuser.on_behalf_of, start_time=start_time, overlap=overlap
        )

    def get_one(self, email: str):
        return self.client.get_bounce(self.subuser.on_behalf_of, email)

    def reconcile(self) -> bool:
        """Write the download in the caller's transaction; True when anything changed."""
        changed = reconcile(self.subuser, self.upstream, full=self.full, run=self.run)
        if changed and self.summaries:
            bounce_summaries_rebuild(subuser_id=self.subuser.pk)
        return changed

    # --- the steps -------------------------------------------------------------------------------

    def download(self) -> None:
        """The heartbeat keeps the lease meanwhile; a download whose lease was taken stops early."""
        before = self.client.requests_made
        try:
            list_until_joined(self, self.lease.check)
            if self.full:
                confirm_removals(self, self.lease.check)
        finally:
            self.requests += self.client.requests_made - before

    def write(self, *, summaries: bool = True) -> bool:
        """Reconcile the cache with the download; the caller holds the transaction. Rebuilds
        the overview's summaries when anything changed, unless the caller does that itself
        (`summaries=False`). True when anything changed."""
        writer_cache()
        self.upstream.collect()
        self.lease.extend()  # still ours: nobody else wrote this subuser meanwhile
        self.summaries = summaries
        return self.reconcile()

    def complete(self, download: Callable[[], None]) -> RefreshRun:
        """Download (by calling `download`), write in a transaction of its own, and finish."""
        try:
            download()
            with transaction.atomic(), leases_stand_still():
                self.write()
                self.lease.extend()  # renewed as it commits, however long the write took
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
                run_finish(run, self.requests, error=describe(self.failure) if self.failure else "")
        finally:
            self.lease.release()
        if self.failure:
            log.warning(
                "refresh of the %s of %s failed: %s", self.list_label, self.subuser.username,
                run.error,
            )  # fmt: skip
        else:
            log.info(
                "refresh of the %s of %s: fetched %d, created %d, updated %d, removed %d",
                self.list_label, self.subuser.username, run.fetched, run.created, run.updated,
                run.removed,
            )  # fmt: skip
        return run
