"""`Idempotency-Key`: a retried POST answers what the first one did instead of acting twice.

A key belongs to one token (or, from a browser session, one operator) and is kept for
`KEPT`; an expired key may be used again (an owner's expired keys go as it uses a key). The
key's row is written first, in the same transaction as the work it guards: a concurrent retry
waits on the row's unique index until the first commits, then finds its answer. Only answers
that acted (2xx) are kept: a refused request changed nothing, so its retry, corrected, may use
the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.response import Response

HEADER = "Idempotency-Key"
KEPT = timedelta(hours=24)
MAX_LENGTH = 255


class IdempotencyKey(models.Model):
    owner = models.CharField(max_length=40)  # "token:<id>" or "user:<id>"
    key = models.CharField(max_length=MAX_LENGTH)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of the method, path and body
    status = models.PositiveSmallIntegerField(default=0)
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        app_label = "api"
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotencykey_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} of {self.owner}"


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = f"This {HEADER} was used with a different request; use a new key."
    default_code = "idempotency_key_reused"


def idempotent(request, act: Callable[[], Response]) -> Response:
    """`act()` once per key: its answer, or the answer it gave the first time."""
    key = request.headers.get(HEADER)
    if key is None:
        return act()
    if not key or len(key) > MAX_LENGTH or not key.isascii() or not key.isprintable():
        raise exceptions.ValidationError(
            {HEADER: [f"1 to {MAX_LENGTH} printable ASCII characters."]}
        )
    owner = _owner(request)
    fingerprint = _fingerprint(request)
    try:
        with transaction.atomic():
            now = timezone.now()
            # This owner's expired keys go (so one may be used again), a few at a time.
            IdempotencyKey.objects.filter(owner=owner, expires_at__lte=now).delete()
            with transaction.atomic():  # a savepoint: PostgreSQL may go on after a conflict
                record = IdempotencyKey.objects.create(
                    owner=owner, key=key, fingerprint=fingerprint, expires_at=now + KEPT
                )
            response = act()  # raises for what it refuses: the key's row is rolled back too
            record.status, record.body = response.status_code, response.data
            record.save(update_fields=["status", "body"])
            return response
    except IntegrityError:
        first = IdempotencyKey.objects.filter(owner=owner, key=key).first()
        if first is None:
            raise  # not the key's conflict
    if first.fingerprint != fingerprint:
        raise KeyReused()
    replay = Response(first.body, status=first.status)
    replay["Idempotent-Replayed"] = "true"
    return replay


def _owner(request) -> str:
    token = request.auth
    if token is not None and hasattr(token, "pk"):
        return f"token:{token.pk}"
    return f"user:{request.user.pk}"


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()
