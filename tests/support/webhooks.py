"""Small `make_*` helpers for the Event Webhook's records."""

from __future__ import annotations

from datetime import datetime
from itertools import count

from django.utils import timezone

from bounceadmin.bounces.models import Subuser
from bounceadmin.webhooks.models import WebhookEndpoint, WebhookEvent

_ids = count(1)


def make_endpoint(subuser: Subuser, *, set_up: bool = True, **fields) -> WebhookEndpoint:
    """A subuser's endpoint; with `set_up`, as a successful set-up leaves it (on, signed)."""
    if set_up:
        fields = {
            "webhook_id": f"wh-{subuser.username}", "enabled": True, "signing": True,
            "public_key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE-not-a-real-key",
            "events": ["bounce", "dropped"], "set_up_at": timezone.now(), **fields,
        }  # fmt: skip
    return WebhookEndpoint.objects.create(subuser=subuser, **fields)


def make_event(subuser: Subuser, *, received_at: datetime, **fields) -> WebhookEvent:
    n = next(_ids)
    fields = {
        "sg_event_id": f"ev-{n}", "event": "bounce", "type": "bounce",
        "email": f"user{n}@example.com", "timestamp": received_at,
        "outcome": WebhookEvent.Outcome.CREATED, **fields,
    }  # fmt: skip
    return WebhookEvent.objects.create(subuser=subuser, received_at=received_at, **fields)
