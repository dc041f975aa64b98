"""Applying the events of the other lists to the cache (`suppressions.Suppression`), in the batch's
transaction and under the lease `apply.py` holds: spam reports, global and group unsubscribes,
group resubscribes, and sends dropped as "Invalid".

What an event does to the cached entry of its key (the list, its group, the address):
- a spam report, an unsubscribe, a group unsubscribe: adds the entry, or refreshes it when newer
  than it, or puts it back when newer than its removal (history kept as a refresh keeps it);
- a dropped "Invalid": adds the invalid email when none is active, or puts it back when newer
  than its removal; an active one stays as listed (the drop only says it is on the list);
- a group resubscribe: takes the active entry off, dated by the event (so a later unsubscribe
  counts as newer than that removal, an earlier one as older);
- older than the entry or its removal: nothing, and an entry whose removal is being pushed right
  now: nothing (the push, then the next refresh, settle it), as for bounces.
Reads are a few queries per list and batch, writes are bulk: a batch can hold thousands.
"""

from __future__ import annotations

from datetime import datetime

from bounceadmin.bounces.models import Subuser
from bounceadmin.bounces.refresh.database import bulk_create_batch
from bounceadmin.chunks import chunks
from bounceadmin.deletions.models import DeletionItem, DeletionRequest
from bounceadmin.suppressions.models import Suppression, SuppressionChange, SuppressionGroup
from bounceadmin.suppressions.refresh.reconcile import CachedEntry, cached_entries
from bounceadmin.suppressions.refresh.state import list_state_recount

from .events import Event
from .models import WebhookEvent

Outcome = WebhookEvent.Outcome
Change = SuppressionChange.Kind
GROUPS = "group_unsubscribes"
INVALID = "invalid_emails"
MAX_GROUP_NAME = SuppressionGroup._meta.get_field("name").max_length
_UPDATED = ("created", "ip", "reason", "removed_at", "last_seen")


def lists_write(subuser_id: int, events: list[Event], now: datetime) -> dict[int, str]:
    """Write the list events to the cache; the outcome of each, by id(event)."""
    listed = [event for event in events if event.list_name]
    if not listed:
        return {}
    # The newest event of each key decides (a resubscribe and an unsubscribe of one group and
    # address share a key); the others of the batch are older than it.
    newest: dict[tuple[str, int | None, str], Event] = {}
    for event in listed:
        key = (event.list_name, event.group_id, event.email)
        if key not in newest or event.timestamp >= newest[key].timestamp:
            newest[key] = event
    outcomes = {id(event): Outcome.OLDER for event in listed}
    subuser = Subuser.objects.get(pk=subuser_id)
    groups = _groups(subuser, newest.values())
    held = _pushing(subuser_id, {(name, groups.get(g), email) for name, g, email in newest})
    rows = _cached(subuser, newest, groups)
    writes = _Writes(subuser_id, now)
    for (name, upstream_group, email), event in newest.items():
        key = (name, groups.get(upstream_group), email)
        if key in held:
            outcomes[id(event)] = Outcome.HELD
        else:
            outcomes[id(event)] = writes.decide(event, key, rows.get(key))
    writes.save()
    for name in sorted(writes.lists):
        list_state_recount(subuser, name)
    return outcomes


class _Writes:
    """The rows to add, rewrite and their history, gathered, then written in bulk."""

    def __init__(self, subuser_id: int, now: datetime) -> None:
        self.subuser_id, self.now = subuser_id, now
        self.new: dict[tuple, Suppression] = {}
        self.changed: list[Suppression] = []
        self.history: list[SuppressionChange] = []
        self.lists: set[str] = set()  # those whose active entries change

    def decide(self, event: Event, key: tuple, row: CachedEntry | None) -> str:
        name, group_pk, email = key
        if event.event == "group_resubscribe":
            return self._remove(event, row)
        if row is None:
            self.new[key] = Suppression(
                subuser_id=self.subuser_id, list=name, group_id=group_pk, email=email,
                created=event.at, ip=event.ip, reason=_reason(event), first_seen=self.now,
                last_seen=self.now,
            )  # fmt: skip
            self.lists.add(name)
            return Outcome.CREATED
        if row.removed_at is not None:
            if event.at <= row.removed_at:
                return Outcome.OLDER
            self._rewrite(event, row, Change.REAPPEARED, name)
            return Outcome.REACTIVATED
        if name == INVALID:  # on the list already: a drop says no more than that
            return Outcome.UNCHANGED
        if event.at == row.created:
            return Outcome.UNCHANGED
        if event.at < row.created:
            return Outcome.OLDER
        self._rewrite(event, row, Change.CHANGED, name)
        return Outcome.UPDATED

    def _rewrite(self, event: Event, row: CachedEntry, kind: str, name: str) -> None:
        self.history.append(_change(row, kind, self.now))
        ip = (event.ip or row.ip) if name == "spam_reports" else row.ip
        reason = _reason(event) or row.reason
        self.changed.append(
            Suppression(pk=row.pk, created=event.at, ip=ip, reason=reason, removed_at=None,
                        last_seen=self.now)
        )  # fmt: skip
        self.lists.add(name)

    def _remove(self, event: Event, row: CachedEntry | None) -> str:
        if row is None:
            return Outcome.RECORDED  # nothing of the address to take off
        if row.removed_at is not None:
            return Outcome.UNCHANGED if event.at >= row.removed_at else Outcome.OLDER
        if event.at <= row.created:
            return Outcome.OLDER
        # Dated by the event, not now: the order of a recipient's own choices decides.
        self.history.append(_change(row, Change.REMOVED, event.at))
        self.changed.append(
            Suppression(pk=row.pk, created=row.created, ip=row.ip, reason=row.reason,
                        removed_at=event.at, last_seen=self.now)
        )  # fmt: skip
        self.lists.add(GROUPS)
        return Outcome.REMOVED

    def save(self) -> None:
        Suppression.objects.bulk_update(self.changed, _UPDATED, batch_size=500)
        Suppression.objects.bulk_create(list(self.new.values()), batch_size=bulk_create_batch())
        SuppressionChange.objects.bulk_create(self.history, batch_size=bulk_create_batch())


def _reason(event: Event) -> str:
    return event.reason if event.list_name == INVALID else ""


def _change(row: CachedEntry, kind: str, at: datetime) -> SuppressionChange:
    return SuppressionChange(
        suppression_id=row.pk, kind=kind, at=at, old_status=row.status, old_reason=row.reason,
        old_created=row.created,
    )  # fmt: skip


def _groups(subuser: Subuser, events) -> dict[int | None, int]:
    """The pks of the events' groups by upstream id; a group the cache does not know yet (made
    since its last refresh) gets a placeholder name, which the next refresh replaces."""
    wanted = {event.group_id for event in events if event.group_id is not None}
    if not wanted:
        return {}
    known = dict(
        SuppressionGroup.objects.filter(subuser=subuser, upstream_id__in=wanted).values_list(
            "upstream_id", "pk"
        )
    )
    # Only an unsubscribe adds an entry; a resubscribe from an unknown group has none to remove.
    adding = {event.group_id for event in events if event.event == "group_unsubscribe"}
    missing = sorted(adding - set(known))
    if missing:
        # Under the subuser's lease no refresh makes groups meanwhile: no conflict to expect.
        SuppressionGroup.objects.bulk_create(
            [
                SuppressionGroup(subuser=subuser, upstream_id=g, name=f"group {g}"[:MAX_GROUP_NAME])
                for g in missing
            ]
        )
        known.update(
            SuppressionGroup.objects.filter(subuser=subuser, upstream_id__in=missing).values_list(
                "upstream_id", "pk"
            )
        )
    return known


def _cached(
    subuser: Subuser, newest: dict[tuple, Event], groups: dict[int | None, int]
) -> dict[tuple, CachedEntry]:
    """The cached rows of the events' keys, by (list, group pk, address): per list, a query per
    500 addresses."""
    emails_of: dict[str, set[str]] = {}
    for name, _, email in newest:
        emails_of.setdefault(name, set()).add(email)
    found: dict[tuple, CachedEntry] = {}
    for name, emails in emails_of.items():
        for row in cached_entries(subuser, name, sorted(emails)).values():
            found[(name, row.group_id, row.email)] = row
    return found


def _pushing(subuser_id: int, keys: set[tuple]) -> set[tuple]:
    """Those of `keys` (list, group pk, address) whose removal is being pushed right now."""
    names = {name for name, _, _ in keys}
    whole = set(
        DeletionRequest.objects.filter(
            subuser_id=subuser_id, list__in=names, delete_all=True,
            state=DeletionRequest.State.PUSHING,
        ).values_list("list", flat=True)
    )  # fmt: skip
    held = {key for key in keys if key[0] in whole}
    items = DeletionItem.objects.filter(
        request__subuser_id=subuser_id, request__list__in=names, state=DeletionItem.State.PUSHING
    )
    for chunk in chunks(sorted({email for _, _, email in keys}), 500):
        found = items.filter(email__in=chunk).values_list(
            "request__list", "request__group_id", "email"
        )
        held.update(found)
    return held & keys
