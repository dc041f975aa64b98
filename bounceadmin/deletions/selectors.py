"""Reads of deletion requests for the pages, scoped through accounts.scoping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import QueryDict

from bounceadmin.accounts.scoping import visible_bounces, visible_subuser_ids, visible_subusers
from bounceadmin.bounces.filters import BounceFilter
from bounceadmin.bounces.models import Bounce
from bounceadmin.ids import parse_id
from bounceadmin.suppressions.lists import CONSENT_LISTS
from bounceadmin.suppressions.models import SuppressionChange

from .models import DeletionItem, DeletionRequest
from .other_lists import may_remove_optouts

SAMPLE_SIZE = 5
MAX_SELECTED = 10_000  # rows chosen by id; more are requested by filter


class InvalidSelection(Exception):
    """A selection that names no rows: the message says why; `errors` the filters at fault."""

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.errors = errors or {}


@dataclass
class Selection:
    bounces: QuerySet[Bounce]  # the rows the user may see that the selection names
    ids: list[int] | None = None  # when chosen by id: every id asked for


def selection_by_ids(user, ids: list) -> Selection:
    """The bounces of these ids (strings or numbers) that the user may see."""
    if len(ids) > MAX_SELECTED:
        raise InvalidSelection(f"Select at most {MAX_SELECTED} rows, or request by filter.")
    pks = [parse_id(str(i)) if not isinstance(i, bool) else None for i in ids]
    if None in pks:
        raise InvalidSelection("The selection is not valid.")
    return Selection(bounces=visible_bounces(user).filter(pk__in=pks), ids=pks)


def selection_by_filter(user, params: QueryDict) -> Selection:
    """The bounces the bounce list shows for these filters (its query string), as the user sees
    it: the same filterset, the same subuser choices."""
    filterset = BounceFilter(
        params, queryset=visible_bounces(user), subusers=visible_subusers(user)
    )
    if not filterset.is_valid():
        raise InvalidSelection(
            "Some filters are not valid; fix them on the list first.",
            errors={k: list(v) for k, v in filterset.form.errors.items()},
        )
    return Selection(bounces=filterset.qs)


def visible_requests(user) -> QuerySet[DeletionRequest]:
    ids = visible_subuser_ids(user)
    qs = DeletionRequest.objects.select_related("subuser", "requested_by", "decided_by", "group")
    return qs if ids is None else qs.filter(subuser_id__in=ids)


def pending_by_subuser(user) -> list[tuple[object, list[DeletionRequest]]]:
    """The pending requests the user may see, grouped by subuser, oldest first; each with its
    first addresses (`sample`), its failed count, whether the user made it (`own`), and why
    they may not decide it (`refusal`, "" when they may)."""
    pending = list(
        _with_failed_count(visible_requests(user))
        .filter(state=DeletionRequest.State.PENDING)
        .order_by("subuser__username", "requested_at")
    )
    samples = _samples([r.pk for r in pending])
    for r in pending:
        r.sample = samples.get(r.pk, [])
        r.own = r.requested_by_id == user.pk
        r.refusal = decision_refusal(r, user)
    return [(sub, list(rows)) for sub, rows in groupby(pending, key=lambda r: r.subuser)]


def decided_requests(user) -> QuerySet[DeletionRequest]:
    """Every request the user may see that is no longer pending, newest first."""
    return (
        _with_failed_count(visible_requests(user))
        .exclude(state=DeletionRequest.State.PENDING)
        .order_by("-requested_at", "-id")
    )


@dataclass
class RequestItems:
    counts: list[tuple[str, int]]  # items per state, by the state's label
    failed: list[DeletionItem]  # the first `limit` failed ones, shown first
    others: QuerySet[DeletionItem]  # the rest, for paging


def item_counts(deletion: DeletionRequest) -> dict[str, int]:
    """How many of its addresses are in each item state, by state."""
    return dict(deletion.items.order_by().values_list("state").annotate(n=Count("pk")))


def request_items(deletion: DeletionRequest, *, limit: int) -> RequestItems:
    items = deletion.items.order_by("state", "email")
    failed = DeletionItem.State.FAILED
    per_state = item_counts(deletion)
    return RequestItems(
        counts=[(s.label, per_state[s]) for s in DeletionItem.State if s in per_state],
        failed=list(items.filter(state=failed)[:limit]),
        others=items.exclude(state=failed),
    )


def decision_refusal(deletion: DeletionRequest, user) -> str:
    """Why this user may not approve or reject this pending request ("" when they may), as
    the decision services would refuse it: their own request (four-eyes; single-person mode
    relaxes it, never for a recipient's opt-out), or an opt-out without the permission."""
    optout = deletion.list in CONSENT_LISTS
    if optout and not may_remove_optouts(user):
        return (
            "Deciding on a recipient's opt-out needs the separate permission to handle their"
            " consent: another approver decides."
        )
    if deletion.requested_by_id == user.pk:
        if optout:
            return (
                "Your own removal of an opt-out: another operator with the same permission"
                " decides, even in single-person mode."
            )
        if not settings.DELETION_ALLOW_SELF_APPROVAL:
            return "Your own request: another approver decides."
    return ""


@dataclass(frozen=True)
class EntryChange:
    """An opt-out that changed since it was requested: its date then and now (None: it left
    the list), and whether it left the list and came back."""

    email: str
    requested: datetime | None
    now: datetime | None
    came_back: bool

    @property
    def renewed(self) -> bool:
        """Opted out again (re-dated or back on the list): the push refuses it."""
        return self.now is not None or self.came_back


@dataclass
class ApprovalSummary:
    """What approving one request removes, for the confirmation."""

    deletion: DeletionRequest
    sample: list[DeletionItem]
    may_approve: bool  # pending, and decision_refusal has nothing against it
    refusal: str = ""  # why not, when pending
    changed: list[EntryChange] = field(default_factory=list)  # opt-outs changed since requested

    @property
    def renewed(self) -> bool:
        return any(change.renewed for change in self.changed)


def approval_summary(deletion: DeletionRequest, user, *, size: int = 20) -> ApprovalSummary:
    pending = deletion.state == DeletionRequest.State.PENDING
    refusal = decision_refusal(deletion, user) if pending else ""
    return ApprovalSummary(
        deletion=deletion,
        sample=list(deletion.items.order_by("email")[:size]),
        may_approve=pending and not refusal,
        refusal=refusal,
        changed=optouts_changed(deletion) if deletion.list in CONSENT_LISTS else [],
    )


def optouts_changed(deletion: DeletionRequest) -> list[EntryChange]:
    """The request's opt-outs whose cached entry is no longer as requested: dated otherwise,
    off the list, or back on it since the request (the push would refuse the first and last)."""
    items = deletion.items.filter(suppression__isnull=False).values_list(
        "email", "created", "suppression__created", "suppression__removed_at", "suppression_id"
    )
    changed = []
    for email, requested, now, removed_at, suppression_id in items:
        came_back = SuppressionChange.objects.filter(
            suppression_id=suppression_id,
            kind=SuppressionChange.Kind.REAPPEARED,
            at__gte=deletion.requested_at,
        ).exists()
        current = None if removed_at else now
        if current != requested or came_back:
            changed.append(EntryChange(email, requested, current, came_back))
    return changed


def deletion_items_for(bounce) -> QuerySet[DeletionItem]:
    """Every deletion request that named this subuser's address, newest first."""
    return (
        DeletionItem.objects.filter(
            request__subuser_id=bounce.subuser_id, request__list="bounces", email=bounce.email
        )
        .select_related("request__requested_by", "request__decided_by")
        .order_by("-request__requested_at")
    )


def _with_failed_count(requests: QuerySet[DeletionRequest]) -> QuerySet[DeletionRequest]:
    return requests.annotate(
        failed_count=Count("items", filter=Q(items__state=DeletionItem.State.FAILED))
    )


def _samples(request_ids: list[int], size: int = SAMPLE_SIZE) -> dict[int, list[str]]:
    """The first few addresses of each request, in one query."""
    rank = Window(RowNumber(), partition_by=F("request_id"), order_by=F("email").asc())
    rows = (
        DeletionItem.objects.filter(request_id__in=request_ids)
        .annotate(rank=rank)
        .filter(rank__lte=size)
        .values_list("request_id", "email")
    )
    samples: dict[int, list[str]] = {}
    for request_id, email in rows:
        samples.setdefault(request_id, []).append(email)
    return samples
