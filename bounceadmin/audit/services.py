"""Recording audit events."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from bounceadmin.accounts.client_address import client_address

from .context import current_request
from .models import AuditEvent

MAX_ADDRESSES = 10_000  # more are summarised by count in details


def audit_record(
    action: str,
    *,
    actor=None,
    subuser: str = "",
    addresses: Iterable[str] = (),
    details: dict | None = None,
    deletion_request_id: int | None = None,
    key: str | None = None,
    request=None,
) -> AuditEvent | None:
    """Append one event. With a `key`, a second call with the same key records nothing."""
    request = request or current_request()
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    addresses = list(addresses)
    details = dict(details or {})
    token = getattr(request, "api_token", None)
    if token is not None:  # a write through the API: which of the operator's tokens made it
        details.setdefault("api_token", token.name)
    if len(addresses) > MAX_ADDRESSES:
        details["addresses_total"] = len(addresses)
        addresses = addresses[:MAX_ADDRESSES]
    event = AuditEvent(
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        action=action,
        subuser=subuser,
        addresses=addresses,
        details=details,
        source_ip=client_address(request),
        deletion_request_id=deletion_request_id,
        key=key,
    )
    if key is None:
        event.save()
        return event
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        return None  # already recorded
    return event
