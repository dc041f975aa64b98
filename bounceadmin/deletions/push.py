"""Pushing an approved deletion upstream.

Each address moves pending → pushing → done | failed. Only pending and pushing addresses are
sent, so a rerun after a crash resends what was in flight (SendGrid's delete is idempotent) and
never what upstream already confirmed. The cache marks a bounce removed only after upstream
confirmed it. The subuser's refresh lease is held throughout, so a refresh cannot reconcile a
listing taken before the delete and resurrect the addresses.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.bounces.models import Bounce, BounceChange
from bounceadmin.bounces.refresh import refresh_mark_interrupted
from bounceadmin.bounces.refresh.locks import SubuserLease
from bounceadmin.bounces.refresh.summaries import bounce_summaries_rebuild
from bounceadmin.chunks import chunks
from bounceadmin.sendgrid import SendGridClient, SendGridError, get_client
from bounceadmin.sendgrid.client import DELETE_BATCH_SIZE

from .models import DeletionItem, DeletionRequest

log = logging.getLogger(__name__)
State = DeletionRequest.State
ItemState = DeletionItem.State


class SubuserBusy(Exception):
    """A refresh or another push of this subuser holds its lease: try again shortly."""


def deletion_push(
    *, request_id: int, client: SendGridClient | None = None, wait: bool = False
) -> DeletionRequest:
    """Push an approved request (again, after a crash). SubuserBusy while a refresh or another
    push holds the subuser's lease: at once, or, with `wait`, once its holder is seen alive; a
    holder that stops renewing (a killed worker) is taken over as soon as its lease runs out."""
    request = DeletionRequest.objects.select_related("subuser").get(pk=request_id)
    if request.state not in DeletionRequest.OPEN_STATES:
        return request  # not approved, or already finished: nothing to do (safe to rerun)
    lease = SubuserLease(request.subuser_id)
    if not (lease.acquire() or (wait and lease.take_over())):
        raise SubuserBusy(f"subuser {request.subuser.username} is busy")
    own_client = client is None
    client = client or get_client()
    try:
        request.refresh_from_db()
        if request.state not in DeletionRequest.OPEN_STATES:
            return request  # finished by the push that held the lease until now
        # A refresh whose worker died under this lease is closed (the sweeper runs it again).
        refresh_mark_interrupted(subuser_id=request.subuser_id)
        DeletionRequest.objects.filter(pk=request.pk).update(
            state=State.PUSHING, attempts=F("attempts") + 1
        )
        request.refresh_from_db()
        if request.list != "bounces":
            from .push_lists import push_entries

            push_entries(request, client, lease)
        elif request.delete_all:
            _push_delete_all(request, client, lease)
        else:
            _push_batches(request, client, lease)
        return _finish(request)
    finally:
        lease.release()
        if own_client:
            client.close()


def _push_batches(request: DeletionRequest, client: SendGridClient, lease: SubuserLease) -> None:
    subuser = request.subuser.on_behalf_of
    todo = list(
        request.items.filter(state__in=[ItemState.PENDING, ItemState.PUSHING])
        .order_by("pk")
        .values_list("pk", "email", "bounce_id")
    )
    if len(todo) == 1 and request.total == 1:
        # One address: the single-address endpoint, whose 404 tells us it is already gone.
        pk, email, bounce_id = todo[0]
        _mark([pk], ItemState.PUSHING)
        try:
            client.delete_bounce(subuser, email)
        except SendGridError as exc:
            _fail(request, [pk], exc)
        else:
            _confirm(request, [(pk, email, bounce_id)], lease)
        return
    for chunk in chunks(todo, DELETE_BATCH_SIZE):
        pks = [pk for pk, _, _ in chunk]
        _mark(pks, ItemState.PUSHING)
        try:
            client.delete_bounces(subuser, [email for _, email, _ in chunk])
        except SendGridError as exc:
            _fail(request, pks, exc)
            if exc.retryable:
                # Upstream is down or throttling past our patience: keep the rest for a retry.
                rest = [pk for pk, _, _ in todo if pk > pks[-1]]
                _fail(request, rest, exc)
                return
            continue
        _confirm(request, chunk, lease)


def _push_delete_all(request: DeletionRequest, client: SendGridClient, lease: SubuserLease) -> None:
    items = list(
        request.items.exclude(state=ItemState.DONE).values_list("pk", "email", "bounce_id")
    )
    pks = [pk for pk, _, _ in items]
    _mark(pks, ItemState.PUSHING)
    try:
        client.delete_all_bounces(request.subuser.on_behalf_of)
    except SendGridError as exc:
        _fail(request, pks, exc)
        return
    _confirm(request, items, lease)
    # delete_all also took whatever bounced since the request: upstream's list is empty now.
    others = Bounce.objects.filter(subuser=request.subuser, removed_at__isnull=True)
    _remove_from_cache(request.subuser_id, list(others.values_list("pk", flat=True)))


@transaction.atomic
def _confirm(
    request: DeletionRequest, items: list[tuple[int, str, int | None]], lease: SubuserLease
) -> None:
    """Record what upstream confirmed, still holding the lease (else LockLost: nothing is
    recorded, and the addresses, still `pushing`, are sent again when the push resumes)."""
    lease.extend()
    now = timezone.now()
    pks = [pk for pk, _, _ in items]
    DeletionItem.objects.filter(pk__in=pks).update(state=ItemState.DONE, pushed_at=now, error="")
    _remove_from_cache(
        request.subuser_id, [bounce_id for _, _, bounce_id in items if bounce_id], now=now
    )


@transaction.atomic
def _remove_from_cache(subuser_id: int, bounce_ids: list[int], *, now=None) -> None:
    """Mark the bounces removed, with their history, and rebuild the subuser's summaries."""
    if mark_removed(Bounce, BounceChange, "bounce", bounce_ids, now=now or timezone.now()):
        bounce_summaries_rebuild(subuser_id=subuser_id)


def mark_removed(model, change_model, fk: str, ids: list[int], *, now) -> int:
    """Mark the active rows of `model` among `ids` removed at `now`, each with a REMOVED row of
    `change_model` (its `fk`) keeping what it said; how many were active. Bounces and the other
    lists' entries alike, once upstream confirmed their removal."""
    removed = 0
    for chunk in chunks(ids, 500):
        active = model.objects.filter(pk__in=chunk, removed_at__isnull=True)
        rows = list(active.values_list("pk", "status", "reason", "created"))
        removed += active.update(removed_at=now)
        change_model.objects.bulk_create(
            change_model(
                **{f"{fk}_id": pk},
                kind=change_model.Kind.REMOVED,
                at=now,
                old_status=status,
                old_reason=reason,
                old_created=created,
            )  # fmt: skip
            for pk, status, reason, created in rows
        )
    return removed


def _mark(pks: list[int], state: str) -> None:
    DeletionItem.objects.filter(pk__in=pks).update(state=state)


def _fail(request: DeletionRequest, pks: list[int], exc: SendGridError) -> None:
    log.warning("deletion #%s: %d addresses failed: %s", request.pk, len(pks), exc)
    DeletionItem.objects.filter(pk__in=pks).update(state=ItemState.FAILED, error=str(exc)[:1000])


def _finish(request: DeletionRequest) -> DeletionRequest:
    counts = dict(request.items.order_by().values_list("state").annotate(n=Count("pk")))
    done, failed = counts.get(ItemState.DONE, 0), counts.get(ItemState.FAILED, 0)
    if failed == 0:
        state, action = State.DONE, AuditEvent.Action.DELETION_PUSHED
    elif done == 0:
        state, action = State.FAILED, AuditEvent.Action.DELETION_FAILED
    else:
        state, action = State.PARTLY_FAILED, AuditEvent.Action.DELETION_FAILED
    with transaction.atomic():
        DeletionRequest.objects.filter(pk=request.pk).update(
            state=state, finished_at=timezone.now()
        )
        failed_emails = list(
            request.items.filter(state=ItemState.FAILED).values_list("email", flat=True)
        )
        audit_record(
            action,
            subuser=request.subuser.username,
            addresses=failed_emails
            if failed
            else list(request.items.values_list("email", flat=True)),
            details={
                "done": done,
                "failed": failed,
                "attempt": request.attempts,
                "delete_all": request.delete_all,
            },  # fmt: skip
            deletion_request_id=request.pk,
            key=f"deletion:{request.pk}:attempt:{request.attempts}",
        )
    request.refresh_from_db()
    return request
