"""What a deletion request would hold: the preview a requester confirms, and the addresses an
open request already holds, which are never requested twice."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber

from bounceadmin.bounces.models import Bounce, Subuser

from .models import DeletionItem, DeletionRequest

SAMPLE_SIZE = 10
ALREADY_SHOWN = 20


@dataclass
class SubuserPreview:
    subuser: Subuser
    count: int
    sample: list[Bounce]
    whole_list: bool  # the selection is every active bounce of this subuser


@dataclass
class AlreadyRequested:
    email: str
    subuser: str
    request_id: int


@dataclass
class Preview:
    subusers: list[SubuserPreview] = field(default_factory=list)
    # Addresses of the selection that an undecided or running request already holds: left out.
    already: list[AlreadyRequested] = field(default_factory=list)  # the first ALREADY_SHOWN
    already_total: int = 0

    @property
    def total(self) -> int:
        return sum(s.count for s in self.subusers)


def deletion_preview(*, bounces: QuerySet[Bounce]) -> Preview:
    """How many active addresses per subuser the selection holds that no open request holds
    yet, a sample of each, and the ones left out because a request already holds them."""
    selected = bounces.filter(removed_at__isnull=True).order_by()
    active = selected.exclude(Exists(held_items()))
    counts = dict(active.values_list("subuser").annotate(n=Count("id")).values_list("subuser", "n"))
    preview = Preview()
    _note_already_requested(preview, selected)
    if not counts:
        return preview
    whole = whole_list_ids(selected, list(counts))
    # The newest few of each subuser, in one query rather than one per subuser.
    newest = Window(RowNumber(), partition_by=F("subuser_id"), order_by=F("created").desc())
    samples: dict[int, list[Bounce]] = defaultdict(list)
    for bounce in active.annotate(rank=newest).filter(rank__lte=SAMPLE_SIZE).order_by("-created"):
        samples[bounce.subuser_id].append(bounce)
    for subuser in Subuser.objects.filter(pk__in=counts).order_by("username"):
        preview.subusers.append(
            SubuserPreview(
                subuser=subuser,
                count=counts[subuser.pk],
                sample=samples[subuser.pk],
                whole_list=subuser.pk in whole,
            )
        )
    return preview


def whole_list_ids(selected: QuerySet[Bounce], subuser_ids: list[int]) -> set[int]:
    """Those of `subuser_ids` whose every active bounce is in the selection (of active bounces):
    the selections SendGrid's delete_all may stand for."""
    if not subuser_ids:
        return set()
    selected_counts = dict(
        selected.filter(subuser__in=subuser_ids)
        .order_by()
        .values_list("subuser")
        .annotate(n=Count("id"))
        .values_list("subuser", "n")
    )
    totals = dict(
        Bounce.objects.filter(subuser__in=subuser_ids, removed_at__isnull=True)
        .order_by()
        .values_list("subuser")
        .annotate(n=Count("id"))
        .values_list("subuser", "n")
    )
    return {pk for pk in subuser_ids if pk in totals and selected_counts.get(pk) == totals[pk]}


def held_items() -> QuerySet[DeletionItem]:
    """For a Bounce queryset's rows: the items of undecided or running requests that hold the
    same address of the same subuser, still to be removed."""
    return DeletionItem.objects.filter(
        request__subuser_id=OuterRef("subuser_id"),
        request__list="bounces",
        request__state__in=DeletionRequest.UNDECIDED_OR_OPEN,
        email=OuterRef("email"),
        state__in=(DeletionItem.State.PENDING, DeletionItem.State.PUSHING),
    )


def _note_already_requested(preview: Preview, selected: QuerySet[Bounce]) -> None:
    held = held_items().order_by("request_id")
    already = selected.filter(Exists(held)).annotate(
        request_id=Subquery(held.values("request_id")[:1])
    )
    preview.already_total = already.count()
    preview.already = [
        AlreadyRequested(email=email, subuser=subuser, request_id=request_id)
        for email, subuser, request_id in already.order_by(
            "subuser__username", "email"
        ).values_list("email", "subuser__username", "request_id")[:ALREADY_SHOWN]
    ]
