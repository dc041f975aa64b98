"""Requesting removals from the other lists: blocks, invalid emails, spam reports, global and
group unsubscribes. Decisions and the push are the bounces' own (services.py, push.py).

Blocks and invalid emails are removed like bounces. A spam report or an unsubscribe is the
recipient's own request not to get mail, so the rules are stricter, and enforced here, whatever
page or API calls: only operators with the separate permission may request (or approve) one,
one address at a time, never by filter, in bulk or as a whole list, and only with the
recipient's consent recorded: what they said, when, and where it is kept.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from bounceadmin.accounts.roles import has_role
from bounceadmin.accounts.scoping import visible_suppressions
from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.bounces.models import Subuser
from bounceadmin.suppressions.lists import CONSENT_LISTS, SuppressionList
from bounceadmin.suppressions.models import Suppression, SuppressionChange

from .models import DeletionItem, DeletionRequest
from .services import (
    ConfirmationNeeded,
    DeletionError,
    NotPermitted,
    confirmation_phrase,
    needs_confirmation,
)

OPTOUT_PERMISSION = "deletions.remove_recipient_optout"
MAX_CONSENT_TEXT = 5000
MAX_REFERENCE = DeletionRequest._meta.get_field("consent_reference").max_length


@dataclass(frozen=True)
class Consent:
    """The recipient's consent to be mailed again: what they said, when, and where it is kept
    (a ticket, a message id)."""

    statement: str
    at: datetime | None
    reference: str


def may_remove_optouts(user) -> bool:
    """Whether this operator may request or approve removals of spam reports and unsubscribes."""
    return bool(user and user.is_active and user.has_perm(OPTOUT_PERMISSION))


def optout_refusal(user) -> str:
    """Why this operator may not remove a spam report or unsubscribe ("" when they may)."""
    if may_remove_optouts(user):
        return ""
    return (
        "A spam report or unsubscribe is the recipient's own request not to get mail: removing"
        " one needs the separate permission to handle recipients' consent, which you do not have."
    )


def held_entry_items() -> QuerySet[DeletionItem]:
    """For a Suppression queryset's rows: the items of undecided or running requests that will
    remove the same entry."""
    return DeletionItem.objects.filter(
        suppression_id=OuterRef("pk"),
        request__state__in=DeletionRequest.UNDECIDED_OR_OPEN,
        state__in=(DeletionItem.State.PENDING, DeletionItem.State.PUSHING),
    )


def _consent_checked(consent: Consent | None) -> Consent:
    if consent is None:
        raise DeletionError(
            "Removing a spam report or unsubscribe needs the recipient's consent: what they"
            " said, when, and where it is kept."
        )
    statement, reference = consent.statement.strip(), consent.reference.strip()
    missing = [
        name
        for name, value in (
            ("what the recipient said", statement),
            ("when", consent.at),
            ("where it is kept", reference),
        )  # fmt: skip
        if not value
    ]
    if missing:
        raise DeletionError(f"The recipient's consent is incomplete: {', '.join(missing)}.")
    if len(statement) > MAX_CONSENT_TEXT or len(reference) > MAX_REFERENCE:
        raise DeletionError(
            f"The consent is too long: at most {MAX_CONSENT_TEXT} characters for what the"
            f" recipient said and {MAX_REFERENCE} for where it is kept."
        )
    if consent.at > timezone.now():
        raise DeletionError("The consent cannot be dated in the future.")
    return Consent(statement=statement, at=consent.at, reference=reference)


def _consent_covers(consent: Consent, opted_out: datetime) -> None:
    # A consent given before the opt-out is what the recipient took back by opting out.
    if consent.at < opted_out:
        raise DeletionError(
            "The consent must be newer than the opt-out it overrides: the recipient opted out"
            f" {utc_text(opted_out)}, after the consent of {utc_text(consent.at)}."
        )


def utc_text(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def renewal_note(why: str) -> str:
    """The error of an item whose recipient opted out again after their consent."""
    return (
        f"Not removed: the recipient opted out again after the consent ({why}). Retrying will"
        " not remove it: a new request needs their newer consent."
    )


def renewed_optout(
    request: DeletionRequest, *, suppression_id: int | None, requested: datetime | None
) -> str:
    """Why the request's consent no longer covers the cached entry ("" while it does): the
    entry is dated after the consent (`requested`: its date when requested, for the message),
    or it left its list and came back since. A webhook event or a refresh rewrites the entry
    while the request waits; the recipient's latest choice wins. A date moved by a few seconds
    but still before the consent (the webhook's timestamp, then the list's own) is the same
    opt-out, which the consent covers."""
    if request.consent_at is None:  # never filed so by removal_request_create; refuse anyway
        return "Not removed: the request records no consent of the recipient."
    if suppression_id is None:
        return ""  # no cached row to compare: the push still reads upstream
    row = Suppression.objects.filter(pk=suppression_id).values_list("created", flat=True).first()
    if row is None:
        return ""
    if row > request.consent_at:
        was = f"; it was {utc_text(requested)} when requested" if requested else ""
        return renewal_note(
            f"their opt-out is now dated {utc_text(row)}{was}, the consent"
            f" {utc_text(request.consent_at)}"
        )
    back = (
        SuppressionChange.objects.filter(
            suppression_id=suppression_id,
            kind=SuppressionChange.Kind.REAPPEARED,
            at__gte=request.requested_at,
        )
        .order_by("at")
        .values_list("at", flat=True)
        .first()
    )
    if back is not None:
        return renewal_note(f"their opt-out left the list and came back {utc_text(back)}")
    return ""


@transaction.atomic
def removal_request_create(
    *,
    user,
    entries: QuerySet[Suppression],
    justification: str,
    ticket: str = "",
    consent: Consent | None = None,
    by_filter: bool = False,
    selection: str = "",
    confirmation: str = "",
) -> list[DeletionRequest]:
    """One request per subuser (and group) of the entries, all of one list, each keeping a
    snapshot of its entries. `by_filter` says the entries were chosen by a filter, not one by
    one: refused for spam reports and unsubscribes."""
    if not has_role(user, "requester"):
        raise NotPermitted("Requesting a removal needs the requester role.")
    if not justification.strip():
        raise DeletionError("A justification is required.")
    # Only what this operator may see, whatever the caller passed.
    selected = visible_suppressions(user).filter(
        pk__in=entries.order_by().values("pk"), removed_at__isnull=True
    )
    lists = set(selected.order_by().values_list("list", flat=True).distinct()[:2])
    if not lists:
        raise DeletionError("The selection holds no entry that is on an upstream list.")
    if len(lists) > 1:
        raise DeletionError("One list per request: select the entries of one list.")
    name = lists.pop()
    label = SuppressionList(name).label.lower()
    if name in CONSENT_LISTS:
        if not may_remove_optouts(user):
            raise NotPermitted(optout_refusal(user))
        if by_filter:
            raise DeletionError(
                f"Refused: {label} are removed one address at a time, never by filter."
            )
        if selected.count() != 1:
            raise DeletionError(f"Refused: {label} are removed one address at a time.")
        consent = _consent_checked(consent)
    else:
        consent = None
    list(
        Subuser.objects.select_for_update()
        .filter(pk__in=selected.order_by().values("subuser_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    rows = list(
        selected.exclude(Exists(held_entry_items()))
        .order_by("subuser_id", "group_id", "email")
        .values_list(
            "pk",
            "subuser_id",
            "subuser__username",
            "group_id",
            "email",
            "status",
            "reason",
            "created",
        )  # fmt: skip
    )
    if not rows:
        raise DeletionError("Nothing new to request: every entry is already in a pending request.")
    if consent:
        _consent_covers(consent, rows[0][7])  # one entry: checked above
    phrase = confirmation_phrase(len(rows))
    if needs_confirmation(len(rows), delete_all=False) and (confirmation.strip().lower() != phrase):
        raise ConfirmationNeeded(
            f"This removes {len(rows)} addresses: type “{phrase}” to confirm.", phrase=phrase
        )
    grouped: dict[tuple[int, int | None], list[tuple]] = defaultdict(list)
    for row in rows:
        grouped[(row[1], row[3])].append(row)
    batch = uuid.uuid4()
    created = []
    for (subuser_id, group_id), items in grouped.items():
        request = DeletionRequest.objects.create(
            subuser_id=subuser_id, list=name, group_id=group_id, batch=batch, requested_by=user,
            justification=justification.strip(), ticket=ticket.strip(), selection=selection,
            total=len(items),
            consent_statement=consent.statement if consent else "",
            consent_at=consent.at if consent else None,
            consent_reference=consent.reference if consent else "",
        )  # fmt: skip
        DeletionItem.objects.bulk_create(
            [
                DeletionItem(
                    request=request,
                    suppression_id=pk,
                    email=email,
                    status=status,
                    reason=reason,
                    created=created_at,
                )  # fmt: skip
                for pk, _, _, _, email, status, reason, created_at in items
            ],
            batch_size=1000,
        )
        details = {"list": name, "justification": request.justification,
                   "ticket": request.ticket, "count": len(items)}  # fmt: skip
        if group_id:
            details["group"] = request.group.name
        if consent:
            details["consent"] = {"statement": consent.statement, "at": consent.at.isoformat(),
                                  "reference": consent.reference}  # fmt: skip
        audit_record(
            AuditEvent.Action.DELETION_REQUESTED, actor=user, subuser=items[0][2],
            addresses=[item[4] for item in items], details=details,
            deletion_request_id=request.pk,
        )  # fmt: skip
        created.append(request)
    return created
