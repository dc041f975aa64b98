"""Celery tasks: each takes ids, loads fresh state and calls one service. Safe to run twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.db.models import Q
from django.utils import timezone

from bounceadmin.queue import publish
from bounceadmin.sendgrid import SendGridError

from .models import RefreshRun, Subuser
from .refresh import (
    WORKER_STOPPED,
    RefreshAlreadyRunning,
    bounces_refresh,
    refresh_mark_interrupted,
)
from .retention import refresh_runs_prune
from .services import refresh_enqueue
from .subusers import subusers_sync

log = logging.getLogger(__name__)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def refresh_subuser(subuser_id: int, full: bool = False) -> str:
    subuser = Subuser.objects.filter(pk=subuser_id).first()
    if subuser is None or not subuser.refreshable:
        Subuser.objects.filter(pk=subuser_id).update(refresh_queued_at=None)
        return "skipped"
    try:
        # A holder of the lease that stopped renewing it (a killed worker) is taken over.
        run = bounces_refresh(subuser=subuser, full=full, wait=True)
    except RefreshAlreadyRunning:
        # Its holder lives: the refresh in progress covers this request.
        Subuser.objects.filter(pk=subuser_id).update(refresh_queued_at=None)
        log.info("refresh of %s skipped: already running", subuser.username)
        return "already running"
    if settings.REFRESH_OTHER_LISTS:
        # Then the subuser's other lists, one run each under the same lease, in turn.
        from bounceadmin.suppressions.refresh import lists_refresh

        lists_refresh(subuser=subuser, full=full, wait=True)
    from bounceadmin.alerts.tasks import evaluate_alerts_soon

    evaluate_alerts_soon()  # a spike the refresh brought in, or its failure, alerts now
    return run.outcome


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def refresh_all(full: bool = False) -> int:
    """Fan out: one task per refreshable subuser."""
    ids = list(Subuser.objects.refreshable().values_list("pk", flat=True))
    refresh_enqueue(subuser_ids=ids, full=full)
    return len(ids)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def sync_subusers() -> dict:
    result = subusers_sync()
    return {"created": result.created, "updated": result.updated, "gone": result.gone}


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def sync_and_refresh(self, full: bool = True, webhooks_url: str = "") -> int:
    """Import subusers, then refresh each, and with `webhooks_url` set up each one's webhook to
    post there. Retried while upstream is not reachable yet (at start-up the sandbox may still be
    coming up)."""
    try:
        subusers_sync()
    except SendGridError as exc:
        if not exc.retryable:
            raise
        raise self.retry(countdown=5, max_retries=24) from None
    if webhooks_url:
        from bounceadmin.webhooks.services import webhook_setup_enqueue

        ids = list(Subuser.objects.refreshable().values_list("pk", flat=True))
        webhook_setup_enqueue(subuser_ids=ids, public_url=webhooks_url)
    return refresh_all(full=full)


QUEUED_TOO_LONG = timedelta(minutes=10)


@shared_task
def prune_refresh_runs() -> int:
    return refresh_runs_prune()


@shared_task
def recover_interrupted_refreshes() -> int:
    """Close runs left 'running' by a killed worker once their subuser's lease has run out and
    refresh those subusers again; queue again refreshes asked for while the broker was down (or
    lost with a worker)."""
    closed = refresh_mark_interrupted()
    for full, ids in _interrupted_to_run_again().items():
        refresh_enqueue(subuser_ids=ids, full=full)
    lost = Subuser.objects.filter(refresh_queued_at__lt=timezone.now() - QUEUED_TOO_LONG)
    for pk in list(lost.values_list("pk", flat=True)):
        lost.filter(pk=pk).update(refresh_queued_at=timezone.now())
        publish(refresh_subuser, pk, False)
    return closed


def _interrupted_to_run_again() -> dict[bool, list[int]]:
    """Subusers whose last refresh lost its worker (closed by the sweeper, or by a push that took
    the lease over), with nothing running or queued since: full or not, as it was. Only once: a
    refresh that was itself such a rerun may be what kills its worker, and waits for the
    schedule."""
    free = Q(lock_expires_at__isnull=True) | Q(lock_expires_at__lt=timezone.now())
    candidates = Subuser.objects.refreshable().filter(
        free, last_refresh__error=WORKER_STOPPED, refresh_queued_at=None
    )
    again: dict[bool, list[int]] = {}
    for pk, kind in candidates.values_list("pk", "last_refresh__kind"):
        runs = RefreshRun.objects.filter(subuser_id=pk, list="bounces")
        runs = runs.order_by("-started_at", "-pk")
        if list(runs.values_list("error", flat=True)[1:2]) != [WORKER_STOPPED]:
            again.setdefault(kind == RefreshRun.Kind.FULL, []).append(pk)
    return again
