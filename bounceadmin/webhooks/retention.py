"""How long deliveries and events are kept: applied batches for WEBHOOK_BATCH_DAYS (their events
are kept apart), events for WEBHOOK_EVENT_DAYS (the addresses' history on the bounce pages)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import WebhookBatch, WebhookEvent

_CHUNK = 5000


def webhooks_prune() -> dict:
    now = timezone.now()
    batches = WebhookBatch.objects.filter(
        state=WebhookBatch.State.APPLIED,
        received_at__lt=now - timedelta(days=settings.WEBHOOK_BATCH_DAYS),
    )
    events = WebhookEvent.objects.filter(
        received_at__lt=now - timedelta(days=settings.WEBHOOK_EVENT_DAYS)
    )
    return {"batches": _delete(batches), "events": _delete(events)}


def _delete(queryset) -> int:
    """In chunks: one long DELETE would keep SQLite's writers waiting."""
    total = 0
    while ids := list(queryset.values_list("pk", flat=True)[:_CHUNK]):
        total += queryset.model.objects.filter(pk__in=ids).delete()[0]
    return total
