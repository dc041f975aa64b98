"""The four paged lists (blocks, invalid emails, spam reports, global unsubscribes) refreshed by
the bounce refresh's own steps: only what differs is here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from django.conf import settings
from django.db.models import Max

from bounceadmin.bounces.models import RefreshRun, Subuser
from bounceadmin.bounces.refresh.listing import Upstream, missing_from_listing
from bounceadmin.bounces.refresh.runs import run_adjustments_note
from bounceadmin.bounces.refresh.subuser import SubuserRefresh
from bounceadmin.sendgrid import SendGridClient
from bounceadmin.sendgrid.listentries import UpstreamEntry
from bounceadmin.sendgrid.lists import SuppressionList as UpstreamList

from ..lists import SuppressionList
from ..models import Suppression
from .reconcile import Download, cached_entries, reconcile_entries
from .state import list_state_finished, list_state_recount, list_state_started


@dataclass
class ListUpstream(Upstream):
    """An Upstream whose entries need no classification."""

    def derive_changed(self, page) -> None:
        return None


class ListRefresh(SubuserRefresh):
    def __init__(
        self, subuser: Subuser, *, list: str, full: bool, client: SendGridClient,
        wait: bool = False,
    ) -> None:  # fmt: skip
        self.list_name = SuppressionList(list).value
        self.list_label = f"{SuppressionList(list).label.lower()} list"
        self.upstream_list = UpstreamList(self.list_name)
        super().__init__(subuser, full=full, client=client, wait=wait)

    def run_started(self, run: RefreshRun) -> None:
        list_state_started(self.subuser, self.list_name, run)

    def upstream_start(self, deriver) -> Upstream:
        cached = cached_entries(self.subuser, self.list_name) if self.full else {}
        return ListUpstream(rows={}, cached=cached)

    def incremental_start(self) -> int | None:
        newest = Suppression.objects.filter(subuser=self.subuser, list=self.list_name).aggregate(
            newest=Max("created")
        )["newest"]
        if newest is None:
            return None
        return int(newest.timestamp()) - settings.REFRESH_OVERLAP_SECONDS

    def pages(self, *, start_time: int | None, overlap: int):
        return self.client.iter_list_pages(
            self.upstream_list, self.subuser.on_behalf_of, start_time=start_time, overlap=overlap
        )

    def get_one(self, email: str) -> UpstreamEntry | None:
        if self.upstream_list.spec.bulk_delete:  # the lists whose entries can be read one by one
            return self.client.get_entry(self.upstream_list, self.subuser.on_behalf_of, email)
        # A global unsubscribe is only said to be listed or not: still listed keeps its date.
        if not self.client.is_listed(self.upstream_list, self.subuser.on_behalf_of, email):
            return None
        row = self.upstream.cached[email]
        return UpstreamEntry(email=email, created=row.created.astimezone(UTC).timestamp())

    def reconcile(self) -> bool:
        upstream = self.upstream
        cached = upstream.cached if self.full else cached_entries(
            self.subuser, self.list_name, list(upstream.rows)
        )  # fmt: skip
        gone = missing_from_listing(upstream) if self.full else []
        download = Download(rows=upstream.rows, cached=cached, gone=gone, full=self.full)
        changed = reconcile_entries(self.subuser, self.list_name, download, run=self.run)
        self.run.pages = upstream.pages
        run_adjustments_note(self.run, list(upstream.adjustments))
        if changed:
            list_state_recount(self.subuser, self.list_name)
        return changed

    def finish(self) -> RefreshRun:
        run = super().finish()
        list_state_finished(run)
        return run
