"""Requesting, deciding and retrying deletions. The upstream push lives in `push.py`."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.bounces.models import Bounce, Subuser
from bounceadmin.queue import publish

from .models import DeletionItem, DeletionRequest

SAMPLE_SIZE = 10


class DeletionError(Exception):
    """A request or decision that is not allowed; the message says why, for the user."""


@dataclass
class SubuserPreview:
    subuser: Subuser
    count: int
    sample: list[Bounce]
    whole_list: bool  # the selection is every active bounce of this subuser


@dataclass
class Preview:
    subusers: list[SubuserPreview] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(s.count for s in self.subusers)


def deletion_preview(*, bounces: QuerySet[Bounce]) -> Preview:
    """How many active addresses per subuser the selection holds, and a sample of each."""
    active = bounces.filter(removed_at__isnull=True).order_by()
    counts = dict(active.values_list("subuser").annotate(n=Count("id")).values_list("subuser", "n"))
    if not counts:
        return Preview()
    totals = dict(
        Bounce.objects.filter(subuser__in=counts, removed_at__isnull=True)
        .order_by()
        .values("subuser")
        .annotate(n=Count("id"))
        .values_list("subuser", "n")
    )
    # The newest few of each subuser, in one query rather than one per subuser.
    newest = Window(RowNumber(), partition_by=F("subuser_id"), order_by=F("created").desc())
    samples: dict[int, list[Bounce]] = defaultdict(list)
    for bounce in active.annotate(rank=newest).filter(rank__lte=SAMPLE_SIZE).order_by("-created"):
        samples[bounce.subuser_id].append(bounce)
    preview = Preview()
    for subuser in Subuser.objects.filter(pk__in=counts).order_by("username"):
        preview.subusers.append(
            SubuserPreview(
                subuser=subuser,
                count=counts[subuser.pk],
                sample=samples[subuser.pk],
                whole_list=counts[subuser.pk] == totals.get(subuser.pk),
            )
        )
    return preview


def confirmation_phrase(total: int) -> str:
    return f"delete {total}"


def needs_confirmation(total: int, *, delete_all: bool) -> bool:
    return delete_all or total > settings.DELETION_CONFIRM_THRESHOLD


@transaction.atomic
def deletion_request_create(
    *,
    user,
    bounces: QuerySet[Bounce],
    justification: str,
    ticket: str = "",
    selection: str = "",
    delete_all_subusers: frozenset[str] = frozenset(),
    confirmation: str = "",
) -> list[DeletionRequest]:
    """One request per subuser of the selection, each keeping its exact addresses and a
    snapshot of every bounce (the upstream entry will be gone)."""
    if not justification.strip():
        raise DeletionError("A justification is required.")
    rows = list(
        bounces.filter(removed_at__isnull=True)
        .order_by("subuser_id", "email")
        .values_list(
            "pk", "subuser_id", "subuser__username", "email", "status", "reason", "created"
        )  # fmt: skip
    )
    if not rows:
        raise DeletionError("The selection holds no address that is on an upstream list.")
    by_subuser: dict[int, list[tuple]] = defaultdict(list)
    names: dict[int, str] = {}
    for row in rows:
        by_subuser[row[1]].append(row)
        names[row[1]] = row[2]
    unknown = set(delete_all_subusers) - set(names.values())
    if unknown:
        raise DeletionError(f"Not in the selection: {', '.join(sorted(unknown))}.")
    confirmed = confirmation.strip().lower() == confirmation_phrase(len(rows))
    if needs_confirmation(len(rows), delete_all=bool(delete_all_subusers)) and not confirmed:
        raise DeletionError(
            f"This removes {len(rows)} addresses"
            f"{' with delete_all' if delete_all_subusers else ''}: type"
            f" “{confirmation_phrase(len(rows))}” to confirm."
        )

    batch = uuid.uuid4()
    created: list[DeletionRequest] = []
    for subuser_id, items in by_subuser.items():
        request = DeletionRequest.objects.create(
            subuser_id=subuser_id,
            batch=batch,
            requested_by=user,
            justification=justification.strip(),
            ticket=ticket.strip(),
            selection=selection,
            delete_all=names[subuser_id] in delete_all_subusers,
            total=len(items),
        )
        DeletionItem.objects.bulk_create(
            [
                DeletionItem(
                    request=request,
                    bounce_id=pk,
                    email=email,
                    status=status,
                    reason=reason,
                    created=created_at,
                )  # fmt: skip
                for pk, _, _, email, status, reason, created_at in items
            ],
            batch_size=1000,
        )
        audit_record(
            AuditEvent.Action.DELETION_REQUESTED,
            actor=user,
            subuser=names[subuser_id],
            addresses=[item[3] for item in items],
            details={
                "justification": request.justification,
                "ticket": request.ticket,
                "delete_all": request.delete_all,
                "count": len(items),
            },  # fmt: skip
            deletion_request_id=request.pk,
        )
        created.append(request)
    return created


def self_approval_allowed() -> bool:
    return settings.DELETION_ALLOW_SELF_APPROVAL


@transaction.atomic
def deletion_approve(*, request_id: int, user, comment: str = "") -> DeletionRequest:
    request = _pending_for_decision(request_id, user)
    _decide(request, user, comment, DeletionRequest.State.APPROVED)
    _enqueue_push(request.pk)
    return request


@transaction.atomic
def deletion_reject(*, request_id: int, user, comment: str) -> DeletionRequest:
    if not comment.strip():
        raise DeletionError("Say why the request is rejected.")
    request = _pending_for_decision(request_id, user, rejecting=True)
    _decide(request, user, comment, DeletionRequest.State.REJECTED)
    return request


def deletion_approve_subuser(*, subuser: Subuser, user, comment: str = "") -> list[int]:
    """Approve every pending request of one subuser that this user may approve."""
    approved = []
    pending = DeletionRequest.objects.filter(subuser=subuser, state=DeletionRequest.State.PENDING)
    if not self_approval_allowed():
        pending = pending.exclude(requested_by=user)
    for pk in pending.values_list("pk", flat=True):
        deletion_approve(request_id=pk, user=user, comment=comment)
        approved.append(pk)
    return approved


@transaction.atomic
def deletion_retry_failed(*, request_id: int, user) -> DeletionRequest:
    request = (
        DeletionRequest.objects.select_for_update(of=("self",))
        .select_related("subuser")
        .get(pk=request_id)
    )
    if request.state not in (DeletionRequest.State.PARTLY_FAILED, DeletionRequest.State.FAILED):
        raise DeletionError("Only a request whose push failed can be retried.")
    failed = request.items.filter(state=DeletionItem.State.FAILED)
    addresses = list(failed.values_list("email", flat=True))
    failed.update(state=DeletionItem.State.PENDING, error="")
    request.state = DeletionRequest.State.APPROVED
    request.finished_at = None
    request.save(update_fields=["state", "finished_at"])
    audit_record(
        AuditEvent.Action.DELETION_RETRIED, actor=user, subuser=request.subuser.username,
        addresses=addresses, details={"count": len(addresses)}, deletion_request_id=request.pk,
    )  # fmt: skip
    _enqueue_push(request.pk)
    return request


def _pending_for_decision(request_id: int, user, *, rejecting: bool = False) -> DeletionRequest:
    request = (
        DeletionRequest.objects.select_for_update(of=("self",))
        .select_related("subuser")
        .get(pk=request_id)
    )
    if request.state != DeletionRequest.State.PENDING:
        raise DeletionError(
            f"Request #{request.pk} is already {request.get_state_display().lower()}."
        )
    if not rejecting and request.requested_by_id == user.pk and not self_approval_allowed():
        raise DeletionError("You cannot approve your own request: another approver must.")
    return request


_DECISION_EVENTS = {
    DeletionRequest.State.APPROVED: AuditEvent.Action.DELETION_APPROVED,
    DeletionRequest.State.REJECTED: AuditEvent.Action.DELETION_REJECTED,
}


def _decide(request: DeletionRequest, user, comment: str, state: str) -> None:
    request.state = state
    request.decided_by = user
    request.decided_at = timezone.now()
    request.decision_comment = comment.strip()
    request.save(update_fields=["state", "decided_by", "decided_at", "decision_comment"])
    audit_record(
        _DECISION_EVENTS[state],
        actor=user,
        subuser=request.subuser.username,
        addresses=list(request.items.values_list("email", flat=True)),
        details={"comment": request.decision_comment, "count": request.total},
        deletion_request_id=request.pk,
    )


def _enqueue_push(request_id: int) -> None:
    from .tasks import push_deletion

    transaction.on_commit(lambda: publish(push_deletion, request_id))
