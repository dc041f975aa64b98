"""Celery tasks of the Event Webhook: set a subuser's webhook up upstream, apply a subuser's
stored batches, and sweep up batches no task applied (a broker that was down, a worker killed
mid-way)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import OperationalError
from django.utils import timezone

from bounceadmin.bounces.models import Subuser
from bounceadmin.queue import publish

from .apply import Busy, batches_apply
from .models import WebhookBatch
from .retention import webhooks_prune
from .setup import webhook_set_up

log = logging.getLogger(__name__)

# A batch still pending this long after it arrived has no task coming for it.
FORGOTTEN = timedelta(seconds=30)
# How long a subuser's queued application counts as queued (then the sweeper takes over).
QUEUED_FLAG_SECONDS = 60


def apply_batches_soon(subuser_id: int) -> None:
    """Queue the application of a subuser's batches, unless one is queued already: one task
    applies every pending batch, so a burst of deliveries needs one, not one each (each would
    cost the broker a message, the filesystem broker about a second). A broker that is down
    loses nothing: the batches are stored, and the sweeper applies them."""
    flag = _queued_flag(subuser_id)
    if cache.add(flag, 1, timeout=QUEUED_FLAG_SECONDS) and not publish(apply_batches, subuser_id):
        cache.delete(flag)


def _queued_flag(subuser_id: int) -> str:
    return f"webhooks:apply-queued:{subuser_id}"


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def set_up_webhook(
    subuser_id: int, public_url: str, deferred: bool = False, actor_id: int | None = None
) -> str:
    """Set the subuser's webhook up (idempotent: safe to run twice); its result is on the
    endpoint (the overview's state) and, when it changed something, in the audit log."""
    subuser = Subuser.objects.filter(pk=subuser_id).first()
    if subuser is None:
        return "no such subuser"
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    result = webhook_set_up(subuser, public_url=public_url, deferred=deferred, actor=actor)
    (log.warning if result.failed else log.info)("webhook set-up: %s", result.line)
    return result.line


@shared_task(
    autoretry_for=(Busy, OperationalError),
    retry_backoff=1,
    retry_backoff_max=15,
    retry_jitter=False,
    max_retries=None,  # a refresh or push frees the lease soon; the sweeper also applies
)
def apply_batches(subuser_id: int) -> int:
    # Cleared first: a delivery stored from now on queues a task of its own, in case this one
    # has already read the pending batches.
    cache.delete(_queued_flag(subuser_id))
    applied = batches_apply(subuser_id)
    if applied:
        # Queued, not run here: the batches' transactions are committed, and an evaluation
        # covers every subuser's batches applied before it runs.
        from bounceadmin.alerts.tasks import evaluate_alerts_soon

        evaluate_alerts_soon()
    return applied


@shared_task
def apply_forgotten_batches() -> int:
    """Queue the application of batches that have waited too long, whatever says one is queued
    (its task may be what was lost); returns how many subusers."""
    waiting = WebhookBatch.objects.filter(
        state=WebhookBatch.State.PENDING, received_at__lt=timezone.now() - FORGOTTEN
    )
    ids = sorted(set(waiting.values_list("subuser_id", flat=True)))
    for subuser_id in ids:
        publish(apply_batches, subuser_id)
    return len(ids)


@shared_task
def prune_webhook_records() -> dict:
    return webhooks_prune()
