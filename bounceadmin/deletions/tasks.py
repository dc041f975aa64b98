"""Celery tasks for deletions: load by id, call one service, retry when the subuser is busy."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from bounceadmin.bounces.refresh.locks import LockLost
from bounceadmin.queue import publish

from .models import DeletionRequest
from .push import SubuserBusy, deletion_push

log = logging.getLogger(__name__)


@shared_task(
    bind=True,
    autoretry_for=(SubuserBusy, LockLost, OperationalError),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=None,  # a busy subuser frees itself (leases expire); the sweeper also resumes
)
def push_deletion(self, request_id: int) -> str:
    # A holder of the lease that stopped renewing it (a killed worker) is taken over.
    return deletion_push(request_id=request_id, wait=True).state


@shared_task
def resume_deletions() -> int:
    """Re-queue approved pushes that no worker is working on (e.g. one was killed mid-push).
    Pushing is idempotent, so a duplicate only finds nothing left to do."""
    from django.db.models import Q
    from django.utils import timezone

    free = Q(subuser__lock_expires_at__isnull=True) | Q(subuser__lock_expires_at__lt=timezone.now())
    stuck = DeletionRequest.objects.filter(free, state__in=DeletionRequest.OPEN_STATES)
    ids = list(stuck.values_list("pk", flat=True))
    for pk in ids:
        publish(push_deletion, pk)
    return len(ids)
