"""Requesting, deciding and retrying deletions. The upstream push lives in `push.py`."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, QuerySet
from django.utils import timezone

from bounceadmin.accounts.mfa.policy import decision_refusal
from bounceadmin.accounts.roles import has_role
from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.bounces.models import Bounce, Subuser
from bounceadmin.queue import publish
from bounceadmin.suppressions.lists import CONSENT_LISTS

from .models import DeletionItem, DeletionRequest
from .preview import held_items, whole_list_ids


class DeletionError(Exception):
    """A request or decision that is not allowed; the message says why, for the user."""


class NotPermitted(DeletionError):
    """The user may not do this to this request (four-eyes, or not theirs to withdraw)."""


class SecondFactorNeeded(NotPermitted):
    """The decider's role needs a second factor, not set up or not checked recently enough."""


class WrongState(DeletionError):
    """The request is no longer in a state that allows this (decided, withdrawn, pushed)."""


class ConfirmationNeeded(DeletionError):
    """A large or whole-list request without the typed confirmation; `phrase` is what to type."""

    def __init__(self, message: str, *, phrase: str):
        super().__init__(message)
        self.phrase = phrase


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
    selected = bounces.filter(removed_at__isnull=True)
    # One request at a time per subuser: a resubmitted form or a double click finds the first
    # one's addresses held and requests nothing twice (SQLite serialises writers anyway).
    list(
        Subuser.objects.select_for_update()
        .filter(pk__in=selected.order_by().values("subuser_id"))
        .order_by("pk")  # always in one order: two submissions never wait on each other
        .values_list("pk", flat=True)
    )
    rows = list(
        selected.exclude(Exists(held_items()))
        .order_by("subuser_id", "email")
        .values_list(
            "pk", "subuser_id", "subuser__username", "email", "status", "reason", "created"
        )  # fmt: skip
    )
    if not rows:
        held = DeletionItem.objects.filter(
            request__state__in=DeletionRequest.UNDECIDED_OR_OPEN,
            request__list="bounces",
            state__in=(DeletionItem.State.PENDING, DeletionItem.State.PUSHING),
            request__subuser_id__in=selected.order_by().values("subuser_id"),
            email__in=selected.order_by().values("email"),
        )
        numbers = sorted(set(held.values_list("request_id", flat=True)[:1000]))
        if numbers:
            raise DeletionError(
                "Nothing new to request: every address of the selection is already requested in "
                + ", ".join(f"#{n}" for n in numbers[:10])
                + (" and more" if len(numbers) > 10 else "")
                + "."
            )
        raise DeletionError("The selection holds no address that is on an upstream list.")
    by_subuser: dict[int, list[tuple]] = defaultdict(list)
    names: dict[int, str] = {}
    for row in rows:
        by_subuser[row[1]].append(row)
        names[row[1]] = row[2]
    unknown = set(delete_all_subusers) - set(names.values())
    if unknown:
        raise DeletionError(f"Not in the selection: {', '.join(sorted(unknown))}.")
    # delete_all removes the whole upstream list: only for a selection that is the whole list.
    whole = whole_list_ids(
        selected, [pk for pk, name in names.items() if name in delete_all_subusers]
    )
    partial = sorted(n for pk, n in names.items() if n in delete_all_subusers and pk not in whole)
    if partial:
        raise DeletionError(
            f"delete_all removes the whole list: the selection is not all of {', '.join(partial)}."
        )
    phrase = confirmation_phrase(len(rows))
    confirmed = confirmation.strip().lower() == phrase
    if needs_confirmation(len(rows), delete_all=bool(delete_all_subusers)) and not confirmed:
        raise ConfirmationNeeded(
            f"This removes {len(rows)} addresses"
            f"{' with delete_all' if delete_all_subusers else ''}: type"
            f" “{phrase}” to confirm.",
            phrase=phrase,
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
def deletion_approve(
    *, request_id: int, user, comment: str = "", factor_checked_at: datetime | None = None
) -> DeletionRequest:
    """`factor_checked_at`: when the approver last passed a second-factor check (the session's,
    or now for a code given with the call); needed for the roles of MFA_REQUIRED_ROLES."""
    request = _pending_for_decision(request_id, user, factor_checked_at=factor_checked_at)
    _decide(request, user, comment, DeletionRequest.State.APPROVED)
    _enqueue_push(request.pk)
    return request


@transaction.atomic
def deletion_reject(
    *, request_id: int, user, comment: str, factor_checked_at: datetime | None = None
) -> DeletionRequest:
    _second_factor_check(user, factor_checked_at)
    if not comment.strip():
        raise DeletionError("Say why the request is rejected.")
    request = _pending_for_decision(
        request_id, user, rejecting=True, factor_checked_at=factor_checked_at
    )
    _decide(request, user, comment, DeletionRequest.State.REJECTED)
    return request


@transaction.atomic
def deletion_withdraw(*, request_id: int, user, comment: str) -> DeletionRequest:
    """The requester (or an admin) takes back a request nobody has decided yet."""
    if not comment.strip():
        raise DeletionError("Say why the request is withdrawn.")
    request = (
        DeletionRequest.objects.select_for_update(of=("self",))
        .select_related("subuser")
        .get(pk=request_id)
    )
    if not may_withdraw(request, user):
        raise NotPermitted("Only the requester or an admin can withdraw a request.")
    if request.state != DeletionRequest.State.PENDING:
        raise WrongState(f"Request #{request.pk} is already {request.get_state_display().lower()}.")
    _decide(request, user, comment, DeletionRequest.State.WITHDRAWN)
    return request


def may_withdraw(request: DeletionRequest, user) -> bool:
    return request.requested_by_id == user.pk or has_role(user, "admin")


@dataclass
class SubuserApproval:
    approved: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)  # request id: why


def deletion_approve_subuser(
    *,
    subuser: Subuser,
    user,
    request_ids: list[int] | None = None,
    comment: str = "",
    factor_checked_at: datetime | None = None,
) -> SubuserApproval:
    """Approve the pending requests of one subuser that this user may approve: those of
    `request_ids` (the ones the approver was shown), never one that arrived since. Each is
    decided on its own; one decided meanwhile is skipped and said so."""
    _second_factor_check(user, factor_checked_at)
    result = SubuserApproval()
    pending = DeletionRequest.objects.filter(subuser=subuser, state=DeletionRequest.State.PENDING)
    if not self_approval_allowed():
        pending = pending.exclude(requested_by=user)
    if request_ids is not None:
        pending = pending.filter(pk__in=request_ids)
        result.skipped = dict.fromkeys(
            set(request_ids) - set(pending.values_list("pk", flat=True)), "no longer pending"
        )
    for pk in pending.order_by("pk").values_list("pk", flat=True):
        try:
            deletion_approve(
                request_id=pk, user=user, comment=comment, factor_checked_at=factor_checked_at
            )
        except DeletionError as exc:  # decided or withdrawn between the listing and the lock
            result.skipped[pk] = str(exc)
        else:
            result.approved.append(pk)
    return result


def retry_refusal(request: DeletionRequest, user) -> str:
    """Why this user may not retry the request's failed addresses ("" when they may), for the
    pages; deletion_retry_failed refuses the same."""
    if request.list in CONSENT_LISTS:
        from .other_lists import optout_refusal

        return optout_refusal(user)
    return ""


@transaction.atomic
def deletion_retry_failed(*, request_id: int, user) -> DeletionRequest:
    request = (
        DeletionRequest.objects.select_for_update(of=("self",))
        .select_related("subuser")
        .get(pk=request_id)
    )
    if request.state not in (DeletionRequest.State.PARTLY_FAILED, DeletionRequest.State.FAILED):
        raise WrongState("Only a request whose push failed can be retried.")
    failed = request.items.filter(state=DeletionItem.State.FAILED)
    if request.list in CONSENT_LISTS:
        # Pushing a recipient's opt-out again is the same act as approving it, on the same
        # consent: the same permission, and a consent that still covers the entry.
        from .other_lists import renewed_optout

        if refusal := retry_refusal(request, user):
            raise NotPermitted(refusal)
        for suppression_id, requested in failed.values_list("suppression_id", "created"):
            if note := renewed_optout(request, suppression_id=suppression_id, requested=requested):
                raise DeletionError(note)
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


def _second_factor_check(user, checked_at: datetime | None) -> None:
    refusal = decision_refusal(user, checked_at)
    if refusal:
        raise SecondFactorNeeded(refusal)


def _pending_for_decision(
    request_id: int, user, *, rejecting: bool = False, factor_checked_at: datetime | None = None
) -> DeletionRequest:
    # Every approval and rejection passes here: the second factor is held in this one place.
    _second_factor_check(user, factor_checked_at)
    request = (
        DeletionRequest.objects.select_for_update(of=("self",))
        .select_related("subuser")
        .get(pk=request_id)
    )
    if request.state != DeletionRequest.State.PENDING:
        raise WrongState(f"Request #{request.pk} is already {request.get_state_display().lower()}.")
    if not rejecting and request.requested_by_id == user.pk and not self_approval_allowed():
        raise NotPermitted("You cannot approve your own request: another approver must.")
    if request.list in CONSENT_LISTS:
        # Deciding on a recipient's own opt-out needs the same permission as requesting it.
        from .other_lists import may_remove_optouts, optout_refusal

        if not may_remove_optouts(user):
            raise NotPermitted(optout_refusal(user))
        if not rejecting and request.requested_by_id == user.pk:
            raise NotPermitted(OWN_OPTOUT_REFUSAL)
    return request


# Single-person mode (DELETION_ALLOW_SELF_APPROVAL) never covers a recipient's own opt-out.
OWN_OPTOUT_REFUSAL = (
    "You cannot approve your own removal of a spam report or unsubscribe: another operator with"
    " the same permission must, even in single-person mode."
)


_DECISION_EVENTS = {
    DeletionRequest.State.APPROVED: AuditEvent.Action.DELETION_APPROVED,
    DeletionRequest.State.REJECTED: AuditEvent.Action.DELETION_REJECTED,
    DeletionRequest.State.WITHDRAWN: AuditEvent.Action.DELETION_WITHDRAWN,
}
# What a request closed without a push says of each of its addresses.
_NOT_REMOVED = {
    DeletionRequest.State.REJECTED: DeletionItem.State.REJECTED,
    DeletionRequest.State.WITHDRAWN: DeletionItem.State.WITHDRAWN,
}


def _decide(request: DeletionRequest, user, comment: str, state: str) -> None:
    not_removed = _NOT_REMOVED.get(state)
    if not_removed:
        request.items.filter(state=DeletionItem.State.PENDING).update(state=not_removed)
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
