"""The bounce page's timeline: what happened to one subuser's address, newest first, from three
sources: SendGrid's Event Webhook (bounces, blocks, drops, deferrals, and the recipient's spam
reports and unsubscribes, which write the other lists), our refreshes (first seen,
bounced again, removed, reappeared) and deletion requests (requested, decided, pushed).

A read, scoped by its caller: the bounce comes from `accounts.scoping`, and every row read here is
that bounce's subuser's and address's, never the same address of another subuser. Bounded: each
source is read newest first through its index, at most `limit` rows, so an address with fifty
thousand events costs the page the same few queries as one with five.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import Count, Max
from django.urls import reverse

from bounceadmin.deletions.models import DeletionItem, DeletionRequest
from bounceadmin.deletions.selectors import deletion_items_for
from bounceadmin.suppressions.models import SuppressionGroup
from bounceadmin.webhooks.models import WebhookEvent

from .models import Bounce, BounceChange, RefreshRun

LIMIT = 200
Outcome = WebhookEvent.Outcome
Kind = BounceChange.Kind

# SendGrid drops a send to an address on one of the subuser's suppression lists, naming the list
# in the reason (its event reference: "Bounced Address", "Spam Reporting Address", ...). Other
# drop reasons (spam content, an invalid SMTPAPI header, the plan's quota) say nothing of the
# address.
SUPPRESSED_DROPS = {
    "bounced address": ("Bounced Address", "the bounce list"),
    "spam reporting address": ("Spam Reporting Address", "the spam report list"),
    "unsubscribed address": ("Unsubscribed Address", "the global unsubscribe list"),
    "invalid": ("Invalid", "the invalid email list"),
}
SUPPRESSED = "A send to this address was dropped because it is suppressed"
# The events given a marker of their own; others (their names are the sender's) are "other".
EVENT_KINDS = {"bounce", "dropped", "deferred", "delivered", "processed"}
# The recipient's own requests, and the list each writes: what applying them did names that list
# (a bounce event's outcome names the bounce).
LIST_OF_EVENT = {
    "spamreport": "the spam report list",
    "unsubscribe": "the global unsubscribe list",
    "group_unsubscribe": "the group's unsubscribe list",
    "group_resubscribe": "the group's unsubscribe list",
}
LIST_OUTCOMES = {
    Outcome.CREATED: "Added to {list}",
    Outcome.UPDATED: "Updated its entry on {list}",
    Outcome.REACTIVATED: "Back on {list} after its removal",
    Outcome.REMOVED: "Taken off {list}",
    Outcome.UNCHANGED: "Nothing new for {list}",
    Outcome.OLDER: "Older than its entry on {list}, or than its removal",
}
GROUP_TITLES = {
    "group_unsubscribe": "Unsubscribed from group {group}",
    "group_resubscribe": "Resubscribed to group {group}",
}


@dataclass
class Before:
    """The cached entry as it was before a change (BounceChange's old values)."""

    status: str
    created: datetime | None
    reason: str


@dataclass
class Entry:
    at: datetime
    source: str  # webhook, refresh, deletion: the badge
    kind: str  # what happened, for the marker's colour: bounce, blocked, dropped, removed, ...
    title: str  # ours
    note: str = ""  # ours
    status: str = ""  # from strangers, like every text below but the links'
    reason: str = ""
    classification: str = ""  # SendGrid's, as sent
    outcome: str = ""  # what applying a webhook event did to the cache
    before: Before | None = None
    by: str = ""  # the operator who acted
    quote: str = ""  # a justification or decision comment
    error: str = ""
    link: str = ""  # the title's, or with link_text after the note
    link_text: str = ""
    bounced_at: datetime | None = None  # the bounce time a change brought
    received_at: datetime | None = None  # when a webhook event reached us
    order: int = 0  # among entries of one instant (REMOVAL, REQUESTED, DECIDED, PUSHED)
    key: tuple | None = None  # a webhook change's, to find its event

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS[self.source]


CHANGE_TITLES = {
    Kind.REMOVED: "Removed upstream",
    Kind.REAPPEARED: "Back on the list",
    Kind.CHANGED: "Bounced again",
}
# What a webhook event's outcome wrote in the bounce's history.
EVENT_CHANGES = {Outcome.UPDATED: Kind.CHANGED, Outcome.REACTIVATED: Kind.REAPPEARED}
# Entries of one instant, oldest first: a push's removal, a request, its decision, its push.
REMOVAL, REQUESTED, DECIDED, PUSHED = -1, 0, 1, 2
SOURCE_LABELS = {"webhook": "Webhook", "refresh": "Refresh", "deletion": "Deletion"}


@dataclass
class Timeline:
    entries: list[Entry]
    older: int  # stored records older than the last entry shown, not shown
    drops: int  # sends dropped because the address is suppressed, over the events kept
    last_drop: datetime | None
    open_requests: list[DeletionRequest]  # pending, approved or pushing: still to settle


def address_timeline(bounce: Bounce, *, limit: int = LIMIT) -> Timeline:
    """The address's history on this bounce's subuser, newest first, at most `limit` entries."""
    address = WebhookEvent.objects.filter(subuser_id=bounce.subuser_id, email=bounce.email)
    events = list(address.order_by("-timestamp", "-id")[:limit])
    changes = list(bounce.changes.select_related("run").order_by("-at", "-id")[:limit])
    items = list(deletion_items_for(bounce)[:limit])

    webhook_changes: dict[tuple[str, datetime], Before] = {}
    entries = _change_entries(bounce, changes, webhook_changes)
    groups = _group_names(bounce, events)
    entries += [_event_entry(event, webhook_changes, groups) for event in events]
    entries += [entry for item in items for entry in _deletion_entries(item)]
    entries = _without_doubles(entries, webhook_changes)
    seen = _first_seen(bounce, events, address, truncated=len(events) == limit)
    if seen is not None:
        entries.append(seen)
    entries.sort(key=lambda e: (e.at, e.order), reverse=True)

    older = max(0, len(entries) - limit)
    if len(events) == limit:
        older += address.count() - len(events)
    if len(changes) == limit:
        older += bounce.changes.count() - len(changes)
    drops, last_drop = _suppressed_drops(address)
    open_requests = {
        item.request_id: item.request
        for item in items
        if item.request.state in DeletionRequest.UNDECIDED_OR_OPEN
    }
    return Timeline(
        entries=entries[:limit], older=older, drops=drops, last_drop=last_drop,
        open_requests=list(open_requests.values()),
    )  # fmt: skip


def suppressed_drop(event: str, reason: str) -> tuple[str, str] | None:
    """(SendGrid's name, the list) when this event is a send dropped for a suppression."""
    if event != "dropped":
        return None
    return SUPPRESSED_DROPS.get(reason.strip().lower())


def _event_entry(
    event: WebhookEvent,
    webhook_changes: dict[tuple[str, datetime], Before],
    groups: dict[int, str],
) -> Entry:
    title = event.label
    if event.event in GROUP_TITLES:
        group = groups.get(event.asm_group_id) or str(event.asm_group_id)
        title = GROUP_TITLES[event.event].format(group=group)
    entry = Entry(
        at=event.timestamp, source="webhook", title=title, status=event.status,
        reason=event.reason, classification=event.classification, received_at=event.received_at,
        kind=event.event if event.event in EVENT_KINDS else "other",
    )  # fmt: skip
    drop = suppressed_drop(event.event, event.reason)
    if drop is not None:
        name, suppression = drop
        entry.kind, entry.title, entry.reason = "suppressed", f"Dropped: {name}", ""
        entry.note = f"{SUPPRESSED} (on {suppression})."
    elif event.event == "dropped":
        entry.note = "Dropped by SendGrid before delivery, for a reason other than a suppression."
    elif event.event == "bounce" and event.type == "blocked":
        entry.kind = "blocked"
        entry.note = "Refused by the receiving server for now; blocks are not on the bounce list."
    elif event.event == "deferred":
        entry.note = "Delivery delayed; SendGrid keeps trying."
    listed = _list_written(event)
    if listed and event.outcome in LIST_OUTCOMES:
        entry.outcome = LIST_OUTCOMES[event.outcome].format(list=listed)
    elif event.outcome != Outcome.RECORDED:
        entry.outcome = event.get_outcome_display()
    if event.outcome == Outcome.CREATED:
        entry.outcome += "; first seen"
    change = EVENT_CHANGES.get(event.outcome) if event.event == "bounce" else None
    if change is not None:
        # The old values this event's change kept: shown here, not as an entry of their own.
        entry.before = webhook_changes.pop((change, event.timestamp), None)
    return entry


def _list_written(event: WebhookEvent) -> str:
    """The other list this event wrote to ("" for a bounce or an event kept as history)."""
    if event.event == "dropped":
        drop = suppressed_drop(event.event, event.reason)
        return drop[1] if drop and drop[0] == "Invalid" else ""
    return LIST_OF_EVENT.get(event.event, "")


def _group_names(bounce: Bounce, events: list[WebhookEvent]) -> dict[int, str]:
    """The names of the groups the events name, by upstream id (one query; none without)."""
    ids = {e.asm_group_id for e in events if e.asm_group_id is not None}
    if not ids:
        return {}
    groups = SuppressionGroup.objects.filter(subuser_id=bounce.subuser_id, upstream_id__in=ids)
    return dict(groups.values_list("upstream_id", "name"))


def _change_entries(
    bounce: Bounce, changes: list[BounceChange], webhook_changes: dict[tuple[str, datetime], Before]
) -> list[Entry]:
    """An entry per change. Those a webhook event made are also put in `webhook_changes`, keyed
    by their kind and the bounce time the event brought, for that event's entry to show."""
    entries = []
    later = bounce.created  # the bounce time the newer change found
    for change in changes:  # newest first
        before = Before(change.old_status, change.old_created, change.old_reason)
        brought, later = later, change.old_created or later
        if change.run is not None:
            entries.append(_refresh_entry(bounce, change, before, brought))
        elif change.kind == Kind.REMOVED:
            # A deletion's push; the item it confirmed says so too, with its request.
            entries.append(
                Entry(
                    at=change.at, source="deletion", kind="removed", title="Removed upstream",
                    note="By a deletion request's push.", before=before, order=REMOVAL,
                )
            )  # fmt: skip
        else:
            webhook_changes[(change.kind, brought)] = before
            entries.append(
                Entry(
                    at=change.at, source="webhook", kind=change.kind,
                    title=CHANGE_TITLES[change.kind], before=before, bounced_at=brought,
                    note="Applied from a webhook event no longer kept.",
                    key=(change.kind, brought),
                )
            )  # fmt: skip
    return entries


def _refresh_entry(bounce: Bounce, change: BounceChange, before: Before, brought) -> Entry:
    run = change.run
    how = "a full refresh" if run.kind == RefreshRun.Kind.FULL else "an incremental refresh"
    note = {
        Kind.REMOVED: f"No longer on SendGrid's list at {how}.",
        Kind.REAPPEARED: f"On SendGrid's list again, found by {how}.",
        Kind.CHANGED: f"SendGrid's entry changed, found by {how}.",
    }[change.kind]
    return Entry(
        at=change.at, source="refresh", kind=change.kind, title=CHANGE_TITLES[change.kind],
        note=note, before=before, bounced_at=None if change.kind == Kind.REMOVED else brought,
        link=_refreshes_url(bounce), link_text="refresh history",
    )  # fmt: skip


def _without_doubles(
    entries: list[Entry], webhook_changes: dict[tuple[str, datetime], Before]
) -> list[Entry]:
    """Each fact once: a webhook change whose event is shown goes (the event shows its old
    values), and a push's removal goes where the deletion item it confirmed is shown."""
    pushed = {e.at for e in entries if e.source == "deletion" and e.order == PUSHED}
    return [
        e
        for e in entries
        if not (e.key is not None and e.key not in webhook_changes)
        and not (e.source == "deletion" and e.order == REMOVAL and e.at in pushed)
    ]


def _deletion_entries(item: DeletionItem) -> list[Entry]:
    request = item.request
    State = DeletionRequest.State
    link, name = request.get_absolute_url(), f"deletion #{request.pk}"
    what = "the whole list (delete_all)" if request.delete_all else "this address"
    now = ""
    if request.state in DeletionRequest.UNDECIDED_OR_OPEN:
        now = f" Now: {request.get_state_display().lower()}."
    entries = [
        Entry(
            at=request.requested_at, source="deletion", kind="requested",
            title=f"{name.capitalize()} requested", note=f"To remove {what}.{now}",
            by=request.requested_by.get_username(), quote=request.justification, link=link,
        )
    ]  # fmt: skip
    if request.decided_at is not None:
        decision = {State.REJECTED: "rejected", State.WITHDRAWN: "withdrawn"}.get(
            request.state, "approved"
        )
        by = request.decided_by.get_username() if request.decided_by else ""
        entries.append(
            Entry(
                at=request.decided_at, source="deletion", kind=decision,
                title=f"{name.capitalize()} {decision}", by=by, quote=request.decision_comment,
                order=DECIDED, link=link,
            )
        )  # fmt: skip
    if item.state == DeletionItem.State.DONE and item.pushed_at is not None:
        entries.append(
            Entry(
                at=item.pushed_at, source="deletion", kind="removed",
                title=f"Removed upstream by {name}", note="SendGrid confirmed the deletion.",
                order=PUSHED, link=link,
            )
        )  # fmt: skip
    elif item.state == DeletionItem.State.FAILED:
        entries.append(
            Entry(
                at=request.finished_at or request.decided_at or request.requested_at,
                source="deletion", kind="failed", title=f"Removal by {name} failed",
                note="The address stays on SendGrid's list.", error=item.error,
                order=PUSHED, link=link,
            )
        )  # fmt: skip
    return entries


def _first_seen(
    bounce: Bounce, events: list[WebhookEvent], address, *, truncated: bool
) -> Entry | None:
    """When the cache first had the address, and how. Added by a webhook event: that event's
    entry says so (None here; a cached row is never deleted, so only one event can have added
    it). Else a refresh found it: the run under way at that moment."""
    # Only a bounce event adds the bounce (a spam report's "created" added its own entry).
    if any(e.outcome == Outcome.CREATED and e.event == "bounce" for e in events):
        return None
    if truncated and address.filter(event="bounce", outcome=Outcome.CREATED).exists():
        return None
    run = (
        RefreshRun.objects.filter(subuser_id=bounce.subuser_id, started_at__lte=bounce.first_seen)
        .order_by("-started_at")
        .first()
    )
    how = "a refresh"
    if run is not None:
        how = "a full refresh" if run.kind == RefreshRun.Kind.FULL else "an incremental refresh"
    return Entry(
        at=bounce.first_seen, source="refresh", kind="seen", title="First seen",
        note=f"Found on SendGrid's list by {how}.", link=_refreshes_url(bounce),
        link_text="refresh history",
    )  # fmt: skip


def _refreshes_url(bounce: Bounce) -> str:
    return f"{reverse('bounces:refreshes')}?{urlencode({'subuser': bounce.subuser.username})}"


def _suppressed_drops(address) -> tuple[int, datetime | None]:
    """Sends dropped because the address is suppressed, and the last: per distinct reason (a few
    rows), matched here as the entries are."""
    rows = (
        address.filter(event="dropped")
        .order_by()
        .values("reason")
        .annotate(n=Count("pk"), last=Max("timestamp"))
    )
    mine = [row for row in rows if suppressed_drop("dropped", row["reason"])]
    return sum(row["n"] for row in mine), max((row["last"] for row in mine), default=None)
