"""Reads of the all-lists pages: the table's two sides (bounces and the other lists) under one
filter, and what the overview shows of the other lists."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import QueryDict

from bounceadmin.accounts.scoping import visible_bounces, visible_subusers, visible_suppressions
from bounceadmin.bounces.filters import BounceFilter

from .filters import SuppressionFilter
from .lists import OTHER_LISTS, SuppressionList
from .models import SuppressionListState
from .union import BOUNCES, OTHERS, Side


@dataclass
class AllLists:
    filterset: SuppressionFilter  # the form, its errors, the lists asked for
    sides: list[Side]  # empty when the filters are not valid: nothing is listed

    @property
    def valid(self) -> bool:
        return not self.filterset.form.errors


def all_lists(user, query: QueryDict) -> AllLists:
    """The entries of every list the user may see that match `query` (/bounces/'s filters and
    `list`), as two sides to page through together (union.py), each scoped and filtered."""
    subusers = visible_subusers(user)
    # Always bound, an empty query included: "no filter" is a valid filter (the default view).
    others = SuppressionFilter(
        query, queryset=visible_suppressions(user).select_related("subuser", "group"),
        subusers=subusers,
    )  # fmt: skip
    if not others.is_valid():
        return AllLists(others, [])
    lists = others.lists
    bounces = None
    if SuppressionList.BOUNCES in lists:
        # The same query through the bounce list's own filterset: the same meaning, by
        # construction. Valid, as every field it has is one the filter above validated.
        bounce_filter = BounceFilter(
            query, queryset=visible_bounces(user).select_related("subuser"), subusers=subusers
        )
        bounces = bounce_filter.qs
    wants_others = any(name in lists for name in OTHER_LISTS)
    return AllLists(
        others,
        [Side(BOUNCES, bounces), Side(OTHERS, others.qs if wants_others else None)],
    )


def list_counts(subuser_ids: list[int]) -> dict[int, list[tuple[str, str, int]]]:
    """Each subuser's active entries per other list, (list, label, count), as the refresh keeps
    them in SuppressionListState (one row per list and subuser; never a count of the entries):
    one query however many subusers."""
    states = (
        SuppressionListState.objects.filter(subuser_id__in=subuser_ids, active__gt=0)
        .order_by()
        .values_list("subuser_id", "list", "active")
    )
    order = {name: i for i, name in enumerate(OTHER_LISTS)}
    counts: dict[int, list[tuple[str, str, int]]] = {}
    for subuser_id, name, active in states:
        counts.setdefault(subuser_id, []).append((name, SHORT_LABELS[name], active))
    for found in counts.values():
        found.sort(key=lambda item: order[item[0]])
    return counts


# The overview's chips: short enough for a row of them in a narrow column.
SHORT_LABELS = {
    SuppressionList.BLOCKS: "blocks",
    SuppressionList.INVALID_EMAILS: "invalid",
    SuppressionList.SPAM_REPORTS: "spam",
    SuppressionList.GLOBAL_UNSUBSCRIBES: "unsub",
    SuppressionList.GROUP_UNSUBSCRIBES: "group unsub",
}
