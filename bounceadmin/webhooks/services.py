"""Writes the pages and start-up ask for; the set-up itself is in setup.py, run by a task."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from bounceadmin.queue import publish

from .models import WebhookEndpoint
from .setup import public_base


def webhook_setup_enqueue(
    *, subuser_ids: list[int], public_url: str, deferred: bool | None = None, requested_by=None
) -> None:
    """Mark each subuser's webhook set-up queued and send one task each once the transaction
    commits. `deferred` None keeps each webhook's deferred events as they are. The set-up audits
    what it changes, with `requested_by` as its actor."""
    from .tasks import set_up_webhook  # tasks call services; this one queues a task

    public_base(public_url)  # a bad URL fails here, not in the worker
    now = timezone.now()
    actor = requested_by.pk if requested_by is not None else None
    for pk in subuser_ids:
        endpoint, _ = WebhookEndpoint.objects.get_or_create(subuser_id=pk)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(setup_queued_at=now)
        keep = "deferred" in endpoint.events if deferred is None else deferred
        transaction.on_commit(
            lambda pk=pk, keep=keep: publish(set_up_webhook, pk, public_url, keep, actor)
        )
