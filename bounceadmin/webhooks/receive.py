"""A delivery, from the raw body to a stored batch, or a refusal that stores nothing.

The signature is checked on the bytes as they came, before anything parses them (re-serialised
JSON would not verify). Everything refused is answered non-2xx, so SendGrid retries it for up to
24 hours; everything accepted is in the database before the answer, so a crash after it loses
nothing: the batch is applied by a task, or by the sweeper.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from .models import WebhookBatch, WebhookEndpoint
from .refusals import refusal_record
from .signature import InvalidKey, signature_valid

log = logging.getLogger(__name__)

_TIMESTAMP = re.compile(r"[0-9]{1,12}")


@dataclass
class Refused(Exception):
    """A delivery not accepted: the HTTP status, why (a short code), and a message for the
    sender (which names nothing of ours)."""

    status: int
    why: str
    message: str


def delivery_receive(
    *, token: str, signature: str | None, timestamp: str | None, body: bytes
) -> int:
    """Verify and store one delivery; returns how many events it held. Refused otherwise."""
    endpoint = WebhookEndpoint.objects.select_related("subuser").filter(token=token).first()
    if endpoint is None:
        refusal_record(None, "unknown")
        raise Refused(404, "unknown", "No webhook is set up at this address.")
    _verify(endpoint, signature, timestamp, body)
    events = _parse(body)
    now = timezone.now()
    if events:
        with transaction.atomic():
            batch = WebhookBatch.objects.create(
                subuser_id=endpoint.subuser_id, received_at=now, body=body.decode(),
                events=len(events),
            )  # fmt: skip
            transaction.on_commit(lambda: _apply_soon(batch.subuser_id))
    _delivered(endpoint, now)
    return len(events)


def _delivered(endpoint: WebhookEndpoint, now) -> None:
    """Note the delivery on the endpoint, after the batch is stored and in a statement of its own:
    in the batch's transaction it would hold the endpoint's row while the insert waits for the
    subuser's (the applying worker takes them the other way round). Only the overview reads it:
    a failure here must not turn a stored delivery into a refusal."""
    try:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_delivery_at=now)
    except DatabaseError as exc:
        log.warning("webhook of %s: last delivery not noted: %s", endpoint.subuser, exc)


def _verify(endpoint: WebhookEndpoint, signature: str | None, stamp: str | None, body: bytes):
    if not endpoint.public_key or not endpoint.signing:
        _refuse(endpoint, "signature", "This webhook has no signing key set up.")
    if not signature or not stamp or not _TIMESTAMP.fullmatch(stamp):
        _refuse(endpoint, "signature", "The signature or timestamp header is missing.")
    try:
        valid = signature_valid(
            public_key=endpoint.public_key, signature=signature, timestamp=stamp, body=body
        )
    except InvalidKey:
        log.error("webhook of %s: the stored public key is unusable", endpoint.subuser)
        valid = False
    if not valid:
        _refuse(endpoint, "signature", "The signature does not match.")
    if abs(time.time() - int(stamp)) > settings.WEBHOOK_MAX_AGE_SECONDS:
        _refuse(endpoint, "stale", "The timestamp is outside the accepted window.")


def _refuse(endpoint: WebhookEndpoint, why: str, message: str):
    field = "refused_stale" if why == "stale" else "refused_signature"
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        **{field: F(field) + 1}, last_refused_at=timezone.now()
    )
    refusal_record(endpoint, why)
    raise Refused(403, why, message)


def _parse(body: bytes) -> list:
    """The events of a verified body: a JSON array of objects (each is read, and may be set
    aside, when the batch is applied). Refused 400 otherwise."""
    try:
        events = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused(400, "body", "The body is not UTF-8 JSON.") from None
    if not isinstance(events, list):
        raise Refused(400, "body", "The body must be a JSON array of events.")
    for n, event in enumerate(events):
        if not isinstance(event, dict):
            raise Refused(400, "body", f"Event {n} is not a JSON object.")
    return events


def _apply_soon(subuser_id: int) -> None:
    from .tasks import apply_batches_soon

    apply_batches_soon(subuser_id)
