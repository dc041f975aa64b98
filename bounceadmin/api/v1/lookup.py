"""`GET /api/v1/lookup/?email=ADDRESS`: the question support asks in one call, "this address gets
none of our mail: why, and can we fix it?", over every list of every subuser the token's
operator may see (the parent account's when granted).

The answer: the verdict of the lookup page; the cached bounces (active and removed) with
classification and fault, whether each is a repeat and whether a removal may be requested now;
the entries of the other lists with their groups and histories; the removal history (deletion
items and their requests); the requests still holding the address; and SendGrid's webhook events
for it, a `dropped` "Bounced Address" being a send that hit the suppression.

A few queries whatever the number of subusers: each source is read once for the address (an
index on its email, or on (subuser, email, ...) for the events), newest first and bounded; the
lists' entries and their histories by the lookup page's selector, a fixed number too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Max
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from bounceadmin.accounts.roles import has_role
from bounceadmin.accounts.scoping import ALL, visible_subuser_ids
from bounceadmin.bounces.models import Bounce, Subuser
from bounceadmin.bounces.timeline import suppressed_drop
from bounceadmin.deletions.models import DeletionItem, DeletionRequest
from bounceadmin.suppressions.entries import Entry
from bounceadmin.suppressions.lists import SuppressionList
from bounceadmin.suppressions.lookup import AddressLookup as ListsLookup
from bounceadmin.suppressions.lookup import address_lookup as lists_lookup
from bounceadmin.webhooks.models import WebhookEvent

from .serializers import LookupSerializer

LIMIT = 200  # rows of each history, newest first
HELD = (DeletionItem.State.PENDING, DeletionItem.State.PUSHING)


class LookupQuery(serializers.Serializer):
    email = serializers.CharField(
        max_length=320, help_text="The address, exactly (any case); no `%` or prefix search."
    )

    def validate_email(self, value: str) -> str:
        local, at, domain = value.partition("@")
        if not (local and at and domain) or any(c.isspace() or c == "\x00" for c in value):
            raise serializers.ValidationError("An email address: name@domain.")
        return value.lower()


@dataclass
class Lookup:
    email: str
    lists: ListsLookup  # every list's entries, the page's selector (suppressions/lookup.py)
    entries: list[Bounce] = field(default_factory=list)
    removals: list[DeletionItem] = field(default_factory=list)
    pending_requests: list[DeletionRequest] = field(default_factory=list)
    webhook_events: list[WebhookEvent] = field(default_factory=list)

    @property
    def suppressed(self) -> bool:
        return any(entry.removed_at is None for entry in self.entries)

    @property
    def other_entries(self) -> list[Entry]:
        return [entry for entry in self.lists.entries if not entry.is_bounce]


def address_lookup(user, email: str) -> Lookup:
    """Everything about `email` (lowercased) in the subusers `user` may see: every list's
    entries through the lookup page's own selector, and what only bounces have around them
    (removals, requests holding the address, the webhook's events)."""
    ids = visible_subuser_ids(user)
    if ids is ALL:
        ids = frozenset(Subuser.objects.values_list("pk", flat=True))
    found = Lookup(email=email, lists=lists_lookup(user, email))
    bounces = [entry for entry in found.lists.entries if entry.is_bounce]
    for entry in bounces:
        entry.record.history = entry.history
    found.entries = sorted(
        (entry.record for entry in bounces), key=lambda bounce: bounce.subuser.username
    )
    items = list(
        DeletionItem.objects.filter(email=email, request__subuser_id__in=ids)
        .select_related("request__subuser", "request__requested_by", "request__group")
        .order_by("-request__requested_at", "-request_id")[:LIMIT]
    )
    events = WebhookEvent.objects.filter(subuser_id__in=ids, email=email)
    found.webhook_events = list(
        events.select_related("subuser").order_by("-timestamp", "-id")[:LIMIT]
    )
    drops = (
        events.filter(event="dropped")
        .order_by()
        .values("subuser_id", "reason")
        .annotate(n=Count("pk"), last=Max("timestamp"))
    )

    held: dict[int, list[DeletionRequest]] = defaultdict(list)
    for item in items:
        request = item.request
        if item.state in HELD and request.state in DeletionRequest.UNDECIDED_OR_OPEN:
            if request.list == SuppressionList.BOUNCES:  # what holds the bounce (entries)
                held[request.subuser_id].append(request)
            found.pending_requests.append(request)
        else:
            found.removals.append(item)
    suppressed: dict[int, tuple[int, object]] = {}
    for row in drops:
        if suppressed_drop("dropped", row["reason"]):
            count, last = suppressed.get(row["subuser_id"], (0, None))
            suppressed[row["subuser_id"]] = (
                count + row["n"],
                max(filter(None, (last, row["last"]))),
            )
    may_request = has_role(user, "requester")
    for entry in found.entries:
        entry.pending = held.get(entry.subuser_id, [])
        entry.drops, entry.last_drop = suppressed.get(entry.subuser_id, (0, None))
        entry.can_request_removal = may_request and entry.removed_at is None and not entry.pending
    return found


@extend_schema(
    parameters=[
        OpenApiParameter(
            "email",
            str,
            required=True,
            description="The address, exactly (any case): no `%` or prefix search.",
        )
    ],  # fmt: skip
    responses=LookupSerializer,
)
class AddressLookup(APIView):
    """Everything about one address in the subusers the token's operator may see: why it gets
    no mail (`verdict`; its cached bounces and its entries on the other lists, the sends
    dropped for it), what was done (removals), what is under way (requests holding it), and
    whether a removal may be requested now."""

    def get(self, request):
        query = LookupQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = address_lookup(request.user, query.validated_data["email"])
        return Response(LookupSerializer(found).data)
