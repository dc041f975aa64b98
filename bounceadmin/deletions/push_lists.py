"""Pushing an approved removal from one of the other lists, as push.py pushes bounces: each
address pending → pushing → done | failed under the subuser's lease, the cached entry marked
removed only once upstream confirmed it. Blocks, invalid emails and spam reports go 500 to a
request; unsubscribes (global and group) one address at a time, as upstream has no bulk delete
for them."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from bounceadmin.bounces.refresh.locks import SubuserLease
from bounceadmin.chunks import chunks
from bounceadmin.sendgrid import SendGridClient, SendGridError
from bounceadmin.sendgrid.listcalls import DELETE_BATCH_SIZE
from bounceadmin.sendgrid.lists import SuppressionList as UpstreamList
from bounceadmin.suppressions.models import Suppression, SuppressionChange
from bounceadmin.suppressions.refresh.state import list_state_recount

from .models import DeletionItem, DeletionRequest
from .push import ItemState, _fail, _mark


def push_entries(request: DeletionRequest, client: SendGridClient, lease: SubuserLease) -> None:
    kind = UpstreamList(request.list)
    who = request.subuser.on_behalf_of
    todo = list(
        request.items.filter(state__in=[ItemState.PENDING, ItemState.PUSHING])
        .order_by("pk")
        .values_list("pk", "email", "suppression_id")
    )
    if kind.spec.bulk_delete and len(todo) > 1:
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
            # A missing address is already gone: the client counts it as removed.
            client.delete_entry(kind, who, email, group_id=group_id)
        except SendGridError as exc:
            _fail(request, [pk], exc)
            if exc.retryable:
                _fail(request, [rest for rest, _, _ in todo[index + 1 :]], exc)
                return
            continue
        _confirm(request, [item], lease)


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
    active = Suppression.objects.filter(pk__in=entry_ids, removed_at__isnull=True)
    rows = list(active.values_list("pk", "status", "reason", "created"))
    if active.update(removed_at=now):
        SuppressionChange.objects.bulk_create(
            SuppressionChange(
                suppression_id=pk,
                kind=SuppressionChange.Kind.REMOVED,
                at=now,
                old_status=status,
                old_reason=reason,
                old_created=created,
            )  # fmt: skip
            for pk, status, reason, created in rows
        )
        list_state_recount(request.subuser, request.list)
