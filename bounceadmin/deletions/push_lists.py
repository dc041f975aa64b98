"""Pushing an approved removal from one of the other lists, as push.py pushes bounces: each
address pending → pushing → done | failed under the subuser's lease, the cached entry marked
removed only once upstream confirmed it. Blocks, invalid emails and spam reports go 500 to a
request; unsubscribes (global and group) one address at a time, as upstream has no bulk delete
for them.

A spam report or unsubscribe (one address, with the recipient's consent) is checked again right
before its DELETE, under the lease (no webhook batch or refresh writes meanwhile): if the
recipient opted out again after the consent, in the cache or upstream, the item fails and their
newer opt-out stays."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from bounceadmin.bounces.refresh.locks import SubuserLease
from bounceadmin.chunks import chunks
from bounceadmin.sendgrid import SendGridClient, SendGridError
from bounceadmin.sendgrid.listcalls import DELETE_BATCH_SIZE
from bounceadmin.sendgrid.lists import SuppressionList as UpstreamList
from bounceadmin.suppressions.lists import CONSENT_LISTS
from bounceadmin.suppressions.models import Suppression, SuppressionChange
from bounceadmin.suppressions.refresh.state import list_state_recount

from .models import DeletionItem, DeletionRequest
from .other_lists import renewal_note, renewed_optout, utc_text
from .push import ItemState, _fail, _mark, mark_removed


def push_entries(request: DeletionRequest, client: SendGridClient, lease: SubuserLease) -> None:
    kind = UpstreamList(request.list)
    who = request.subuser.on_behalf_of
    todo = list(
        request.items.filter(state__in=[ItemState.PENDING, ItemState.PUSHING])
        .order_by("pk")
        .values_list("pk", "email", "suppression_id")
    )
    consent = request.list in CONSENT_LISTS
    if kind.spec.bulk_delete and len(todo) > 1 and not consent:
        for chunk in chunks(todo, DELETE_BATCH_SIZE):
            pks = [pk for pk, _, _ in chunk]
            _mark(pks, ItemState.PUSHING)
            try:
                client.delete_entries(kind, who, [email for _, email, _ in chunk])
            except SendGridError as exc:
                _fail(request, pks, exc)
                if exc.retryable:  # keep the rest for a retry
                    _fail(request, [pk for pk, _, _ in todo if pk > pks[-1]], exc)
                    return
                continue
            _confirm(request, chunk, lease)
        return
    group_id = request.group.upstream_id if request.group_id else None
    for index, item in enumerate(todo):
        pk, email, _ = item
        _mark([pk], ItemState.PUSHING)
        try:
            renewed = consent and _renewed(request, pk, kind, client, lease, group_id)
            if renewed:
                DeletionItem.objects.filter(pk=pk).update(state=ItemState.FAILED, error=renewed)
                continue
            # A missing address is already gone: the client counts it as removed.
            client.delete_entry(kind, who, email, group_id=group_id)
        except SendGridError as exc:
            _fail(request, [pk], exc)
            if exc.retryable:
                _fail(request, [rest for rest, _, _ in todo[index + 1 :]], exc)
                return
            continue
        _confirm(request, [item], lease)


def _renewed(
    request: DeletionRequest,
    pk: int,
    kind: UpstreamList,
    client: SendGridClient,
    lease: SubuserLease,
    group_id: int | None,
) -> str:
    """Why this opt-out may not be removed any more ("" when it may): the cached entry, then
    upstream's own, compared with the consent. SendGridError when upstream cannot be read."""
    lease.extend()  # still ours: nothing rewrites the entry until the DELETE is recorded
    item = DeletionItem.objects.values("email", "suppression_id", "created").get(pk=pk)
    note = renewed_optout(request, suppression_id=item["suppression_id"], requested=item["created"])
    if note:
        return note
    who = request.subuser.on_behalf_of
    entry = client.get_dated_entry(kind, who, item["email"], group_id=group_id)
    if entry is not None and entry.created > request.consent_at.timestamp():
        upstream = datetime.fromtimestamp(entry.created, tz=UTC)
        return renewal_note(
            f"SendGrid dates their opt-out {utc_text(upstream)}, the consent"
            f" {utc_text(request.consent_at)}"
        )
    return ""


@transaction.atomic
def _confirm(
    request: DeletionRequest, items: list[tuple[int, str, int | None]], lease: SubuserLease
) -> None:
    """Record what upstream confirmed, still holding the lease (else LockLost: the addresses,
    still `pushing`, are sent again when the push resumes)."""
    lease.extend()
    now = timezone.now()
    DeletionItem.objects.filter(pk__in=[pk for pk, _, _ in items]).update(
        state=ItemState.DONE, pushed_at=now, error=""
    )
    entry_ids = [entry_id for _, _, entry_id in items if entry_id]
    if mark_removed(Suppression, SuppressionChange, "suppression", entry_ids, now=now):
        list_state_recount(request.subuser, request.list)
