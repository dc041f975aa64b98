"""Writes of the bounce cache that pages and tasks ask for. The refresh itself is in refresh/,
importing subusers in subusers.py."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from bounceadmin.queue import publish

from .models import Subuser


def refresh_enqueue(*, subuser_ids: list[int], full: bool = False) -> None:
    """Mark the subusers queued and send one refresh task each once the transaction commits."""
    from .tasks import refresh_subuser  # tasks call services; this one queues a task

    Subuser.objects.filter(pk__in=subuser_ids).update(refresh_queued_at=timezone.now())
    for pk in subuser_ids:
        transaction.on_commit(lambda pk=pk: publish(refresh_subuser, pk, full))
