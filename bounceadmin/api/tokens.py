"""Making, finding and revoking API tokens.

A token is `ba_` + 40 random URL-safe characters. Only its SHA-256 is stored (a database leak
gives no usable token; a fast hash is enough for 240 random bits), with its first characters to
tell tokens apart. Creating and revoking are audited, by name, never with the secret.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record

from .models import ApiToken

PREFIX = "ba_"
SHOWN = 10  # characters of a token shown in lists (the prefix and a few more)
# last_used_at is written at most this often per token: not a write on every request.
LAST_USED_EVERY = timedelta(minutes=1)


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    user, *, name: str, expires_days: int | None = None, actor=None
) -> tuple[ApiToken, str]:
    """A new token of `user`; returns it and its secret (the only time the secret exists)."""
    secret = PREFIX + secrets.token_urlsafe(30)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[:SHOWN],
        digest=digest_of(secret),
        expires_at=timezone.now() + timedelta(days=expires_days) if expires_days else None,
    )
    audit_record(
        AuditEvent.Action.API_TOKEN_CREATED,
        actor=actor or user,
        details={"token": name, "owner": user.get_username(), "prefix": token.prefix,
                 "expires_at": token.expires_at.isoformat() if token.expires_at else None},
    )  # fmt: skip
    return token, secret


@transaction.atomic
def api_token_revoke(token: ApiToken, *, actor=None) -> bool:
    """Revoke a live token; False if it was revoked already."""
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        audit_record(
            AuditEvent.Action.API_TOKEN_REVOKED,
            actor=actor or token.user,
            details={"token": token.name, "owner": token.user.get_username(),
                     "prefix": token.prefix},
        )  # fmt: skip
    return bool(revoked)


def api_token_find(secret: str) -> ApiToken | None:
    """The usable token with this secret (and an active user), or None; notes its use."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=digest_of(secret)).first()
    if token is None or not token.usable or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
