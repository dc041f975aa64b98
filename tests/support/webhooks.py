"""Signing deliveries as SendGrid does, for tests: a P-256 key made by `cryptography`, and a
delivery's body and headers."""

from __future__ import annotations

import base64
import itertools
import json
import time
from datetime import datetime

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from bounceadmin.webhooks.models import WebhookEndpoint, WebhookEvent
from bounceadmin.webhooks.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER

_ids = itertools.count(1)


class SigningKey:
    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode()

    def sign(self, body: bytes, timestamp: str) -> str:
        der = self.private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(der).decode()

    def headers(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """Test-client keyword arguments carrying the two headers."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_"): self.sign(body, stamp),
            "HTTP_" + TIMESTAMP_HEADER.upper().replace("-", "_"): stamp,
        }


def make_endpoint(subuser, key: SigningKey | None = None, **fields) -> WebhookEndpoint:
    """A subuser's endpoint, set up and signed with `key`."""
    return WebhookEndpoint.objects.create(
        subuser=subuser,
        enabled=True,
        signing=True,
        public_key=key.public_key if key else "",
        url=f"https://dashboard.example/webhooks/sendgrid/{subuser.username}/",
        events=["bounce", "dropped"],
        **fields,
    )


def bounce_event(email: str, *, at: float | None = None, **fields) -> dict:
    """A bounce event as SendGrid documents it."""
    n = next(_ids)
    event = {
        "email": email,
        "timestamp": int(time.time() - 60 if at is None else at),
        "smtp-id": f"<{n}@ismtpd-test>",
        "event": "bounce",
        "category": "tests",
        "sg_event_id": f"test-event-{n}-{time.time_ns()}",
        "sg_message_id": f"msg-{n}.filter0001",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
        "status": "5.1.1",
        "type": "bounce",
    }
    event.update(fields)
    return event


def list_event(event: str, email: str, *, at: float | None = None, **fields) -> dict:
    """A spam report, unsubscribe, group (re)subscribe or drop, as SendGrid documents them."""
    n = next(_ids)
    out = {
        "email": email,
        "timestamp": int(time.time() - 60 if at is None else at),
        "event": event,
        "sg_event_id": f"test-{event}-{n}-{time.time_ns()}",
        "sg_message_id": f"msg-{n}.filter0001",
    }
    out.update(fields)
    return out


def body_of(events: list[dict]) -> bytes:
    """Compact JSON with the trailing CRLF SendGrid's deliveries end with."""
    return (json.dumps(events, separators=(",", ":")) + "\r\n").encode()


def make_set_up(subuser, **fields) -> WebhookEndpoint:
    """A subuser's endpoint as a successful set-up leaves it: ours upstream, on, signed."""
    fields = {
        "webhook_id": f"wh-{subuser.username}", "set_up_at": timezone.now(), "enabled": True,
        "signing": True, "public_key": SigningKey().public_key, "events": ["bounce", "dropped"],
        "url": f"https://dashboard.example/webhooks/sendgrid/{subuser.username}/", **fields,
    }  # fmt: skip
    return WebhookEndpoint.objects.create(subuser=subuser, **fields)


def make_event(subuser, *, received_at: datetime, **fields) -> WebhookEvent:
    """An applied event, received at `received_at`."""
    n = next(_ids)
    fields = {
        "sg_event_id": f"ev-{n}", "event": "bounce", "type": "bounce",
        "email": f"user{n}@example.com", "timestamp": received_at,
        "outcome": WebhookEvent.Outcome.CREATED, **fields,
    }  # fmt: skip
    return WebhookEvent.objects.create(subuser=subuser, received_at=received_at, **fields)
