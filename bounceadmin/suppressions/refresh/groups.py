"""Group unsubscribes: upstream answers them in one piece, every address of every group of the
account with its group and date (`/v3/asm/suppressions`), so a refresh is always whole and needs
no join-up or confirmation: what the answer lacks has left its group. The groups themselves
(`/v3/asm/groups`) are kept beside them, a group no longer listed marked removed."""

from __future__ import annotations

from collections.abc import Hashable

from django.utils import timezone

from bounceadmin.bounces.refresh.runs import run_adjustments_note
from bounceadmin.sendgrid import SendGridClient
from bounceadmin.sendgrid.listentries import UpstreamGroup

from ..lists import SuppressionList
from ..models import SuppressionGroup
from .paged import ListRefresh
from .reconcile import Download, cached_entries, entry_key, reconcile_entries
from .state import list_state_recount

MAX_NAME = SuppressionGroup._meta.get_field("name").max_length


class GroupRefresh(ListRefresh):
    def __init__(self, subuser, *, full: bool, client: SendGridClient, wait: bool = False):
        super().__init__(
            subuser, list=SuppressionList.GROUP_UNSUBSCRIBES, full=True, client=client, wait=wait
        )
        self.groups: list[UpstreamGroup] = []

    def download(self) -> None:
        before = self.client.requests_made
        try:
            self.lease.check()
            self.groups = self.client.list_groups(self.subuser.on_behalf_of)
            self.lease.check()
            pages = self.client.iter_list_pages(self.upstream_list, self.subuser.on_behalf_of)
            upstream = self.upstream
            for page in pages:
                upstream.pages += 1
                upstream.adjustments.update(dict.fromkeys(page.adjustments))
                for entry in page:
                    upstream.rows[(entry.group_id, entry.email)] = entry
        finally:
            self.requests += self.client.requests_made - before

    def reconcile(self) -> bool:
        by_upstream_id = self._groups_write()
        rows: dict[Hashable, object] = {}
        group_of: dict[Hashable, int] = {}
        for (upstream_id, email), entry in self.upstream.rows.items():
            group = by_upstream_id.get(upstream_id)
            if group is None:  # a group made between the two calls: known by its entries
                group = by_upstream_id[upstream_id] = self._group_make(upstream_id, entry)
            key = entry_key(email, group)
            rows[key], group_of[key] = entry, group
        cached = cached_entries(self.subuser, self.list_name)
        gone = [key for key, row in cached.items() if row.removed_at is None and key not in rows]
        download = Download(rows=rows, cached=cached, gone=gone, full=True)
        changed = reconcile_entries(
            self.subuser, self.list_name, download, run=self.run, group_of=group_of
        )
        self.run.pages = self.upstream.pages
        run_adjustments_note(self.run, list(self.upstream.adjustments))
        if changed:
            list_state_recount(self.subuser, self.list_name)
        return changed

    def _groups_write(self) -> dict[int, int]:
        """The subuser's groups as upstream lists them; returns their pks by upstream id."""
        now = timezone.now()
        known = {g.upstream_id: g for g in SuppressionGroup.objects.filter(subuser=self.subuser)}
        for up in self.groups:
            group = known.get(up.id)
            values = {"name": up.name[:MAX_NAME], "description": up.description,
                      "is_default": up.is_default, "removed_at": None}  # fmt: skip
            if group is None:
                known[up.id] = SuppressionGroup.objects.create(
                    subuser=self.subuser, upstream_id=up.id, **values
                )
            elif any(getattr(group, k) != v for k, v in values.items()):
                SuppressionGroup.objects.filter(pk=group.pk).update(**values)
        listed = {up.id for up in self.groups}
        SuppressionGroup.objects.filter(subuser=self.subuser, removed_at__isnull=True).exclude(
            upstream_id__in=listed
        ).update(removed_at=now)
        return {upstream_id: group.pk for upstream_id, group in known.items()}

    def _group_make(self, upstream_id: int, entry) -> int:
        name = (entry.group_name or f"group {upstream_id}")[:MAX_NAME]
        group, _ = SuppressionGroup.objects.get_or_create(
            subuser=self.subuser, upstream_id=upstream_id, defaults={"name": name}
        )
        return group.pk
