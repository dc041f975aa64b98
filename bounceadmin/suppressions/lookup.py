"""The support agent's question, "why does this address get none of our mail?": every entry of
one address on every list of every subuser (and the parent account) the user may see, active
or removed, with its history, open deletion requests and what can be done about it.

A fixed number of queries however many subusers and entries: the entries of each table, their
histories, the open deletion items, and when the lists were last refreshed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from django.db.models import F, Max, Q

from bounceadmin.accounts.scoping import visible_bounces, visible_subusers, visible_suppressions
from bounceadmin.bounces.models import BounceChange
from bounceadmin.deletions.models import DeletionItem, DeletionRequest

from .entries import Entry
from .lists import SuppressionList
from .models import SuppressionChange

# The order the lists are shown in: bounces first, then SuppressionList's own order.
_LIST_ORDER = {name: i for i, name in enumerate(SuppressionList.values)}
# Up to this many entries read best as cards; more (an address on many subusers' lists) as one
# row each, and past ROWS_SHOWN rows a section shows its first ones and a link to all: the
# verdict and the counts by list still cover every entry, and the page stays quick to render.
CARDS_MAX = 10
ROWS_SHOWN = 25
# "Request removal of its N bounces" sends their ids in a GET (the preview's), which must fit a
# request line (gunicorn's limit is 4,094 bytes): at most this many.
REMOVE_ALL_MAX = 200


@dataclass
class AddressLookup:
    email: str
    entries: list[Entry]  # active first, then by list, subuser and date
    last_refreshed: datetime | None

    @property
    def compact(self) -> bool:
        return len(self.entries) > CARDS_MAX

    @cached_property
    def active(self) -> list[Entry]:
        return [e for e in self.entries if e.removed_at is None]

    @cached_property
    def removed(self) -> list[Entry]:
        return [e for e in self.entries if e.removed_at is not None]

    @cached_property
    def active_by_list(self) -> list[tuple[str, int]]:
        """(list label, active entries) in the lists' order: a busy address's answer at a
        glance."""
        counts = Counter(e.list for e in self.active)
        return [
            (SuppressionList(name).label, counts[name])
            for name in sorted(counts, key=_LIST_ORDER.get)
        ]

    @cached_property
    def removable_bounces(self) -> list[int]:
        """The active bounces no request is removing yet: one request can take them all."""
        return [e.record.pk for e in self.active if e.is_bounce and not e.pending]

    @property
    def active_lists(self) -> int:
        return len({e.list for e in self.active})

    @property
    def active_subusers(self) -> int:
        return len({e.record.subuser_id for e in self.active})

    @property
    def summary(self) -> str:
        """The verdict the page heads its answer with, as one sentence (the API's)."""
        if self.active:
            lists, subusers, n = self.active_lists, self.active_subusers, len(self.active)
            return (
                f"Suppressed on {lists} list{'s' * (lists != 1)} in {subusers}"
                f" subuser{'s' * (subusers != 1)}: mail to it from"
                f" {'that subuser' if subusers == 1 else 'those subusers'} is dropped"
                + (f" ({n} entries)." if n > 1 else ".")
            )
        removed = len(self.removed)
        past = f" now ({removed} past entr{'y' if removed == 1 else 'ies'}, removed)" * bool(
            removed
        )
        at = self.last_refreshed.isoformat() if self.last_refreshed else "never"
        return (
            f"Not on any list we cache{past}; last refreshed {at}. If mail still does not"
            " arrive, the cause is elsewhere (or newer than that refresh)."
        )


def address_lookup(user, email: str) -> AddressLookup:
    """`email` as stored (lowercased) on every list the user may see."""
    bounces = list(
        visible_bounces(user)
        .filter(email=email)
        .select_related("subuser")
        # The deletion request this address bounced again after (the API shows it).
        .annotate(repeat_of_request=F("repeat_of__request_id"))
    )
    others = list(visible_suppressions(user).filter(email=email).select_related("subuser", "group"))
    entries = [Entry.of(row) for row in (*bounces, *others)]
    by_bounce = {e.record.pk: e for e in entries if e.is_bounce}
    by_other = {e.record.pk: e for e in entries if not e.is_bounce}
    if by_bounce:
        for change in BounceChange.objects.filter(bounce_id__in=by_bounce).order_by("-at", "-id"):
            by_bounce[change.bounce_id].history.append(change)
    if by_other:
        changes = SuppressionChange.objects.filter(suppression_id__in=by_other)
        for change in changes.order_by("-at", "-id"):
            by_other[change.suppression_id].history.append(change)
    if entries:  # the requests still removing any of them, both tables in one query
        items = _open_items().filter(Q(bounce_id__in=by_bounce) | Q(suppression_id__in=by_other))
        for item in items:
            held = by_bounce[item.bounce_id] if item.bounce_id else by_other[item.suppression_id]
            held.pending.append(item)
    entries.sort(
        key=lambda e: (
            e.removed_at is not None,
            _LIST_ORDER[e.list],
            not e.record.subuser.is_parent,
            e.record.subuser.username,
            e.group_name,
        )
    )
    return AddressLookup(email=email, entries=entries, last_refreshed=_last_refreshed(user))


def _open_items():
    """Deletion items a request is still removing (its page says so instead of offering
    another request)."""
    return DeletionItem.objects.filter(
        state__in=(DeletionItem.State.PENDING, DeletionItem.State.PUSHING),
        request__state__in=DeletionRequest.UNDECIDED_OR_OPEN,
    ).select_related("request")


def _last_refreshed(user) -> datetime | None:
    """When a list the user may see last refreshed successfully: bounces (Subuser) or another
    list (SuppressionListState), in one query."""
    found = visible_subusers(user).aggregate(
        bounces=Max("last_success_at"),
        others=Max("list_states__last_success_at"),
    )
    return max((at for at in found.values() if at is not None), default=None)
