"""Per-subuser refresh leases.

A lease is a token and an expiry on the subuser row, taken with one conditional UPDATE, so it
works the same across processes on SQLite and PostgreSQL. A worker killed mid-refresh never
releases it; the lease expires after `REFRESH_LOCK_SECONDS` and the next refresh takes over.
The holder extends it while it works.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ..models import Subuser


class LockLost(Exception):
    """The lease expired and someone else took it: stop before writing anything."""


class SubuserLease:
    def __init__(self, subuser_id: int, *, seconds: int | None = None) -> None:
        self.subuser_id = subuser_id
        self.seconds = seconds if seconds is not None else settings.REFRESH_LOCK_SECONDS
        self.token = secrets.token_hex(16)

    def acquire(self) -> bool:
        now = timezone.now()
        free = Q(lock_expires_at__isnull=True) | Q(lock_expires_at__lt=now)
        taken = Subuser.objects.filter(free, pk=self.subuser_id).update(
            lock_token=self.token, lock_expires_at=now + timedelta(seconds=self.seconds)
        )
        return taken == 1

    def extend(self) -> None:
        expires = timezone.now() + timedelta(seconds=self.seconds)
        kept = Subuser.objects.filter(pk=self.subuser_id, lock_token=self.token).update(
            lock_expires_at=expires
        )
        if not kept:
            raise LockLost(f"refresh lease of subuser {self.subuser_id} was lost")

    def release(self) -> None:
        Subuser.objects.filter(pk=self.subuser_id, lock_token=self.token).update(
            lock_token="", lock_expires_at=None
        )
