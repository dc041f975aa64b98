"""Per-subuser leases: whoever writes a subuser's cached rows (a refresh, a push) holds one.

A lease is a token and an expiry on the subuser row, taken with one conditional UPDATE, so it
works the same across processes on SQLite and PostgreSQL. It is short (`REFRESH_LOCK_SECONDS`):
while its holder lives, a heartbeat thread renews it every third of its length, so the lease of
a worker killed mid-way runs out within one length of its death, whatever the work was.

Correctness does not rest on the heartbeat: the holder checks its token (`extend`) in the
transaction that writes, before writing, and stops with LockLost if someone else has the lease.
A long write transaction must not cost a living holder its lease either: the writer renews its
own leases before it commits, and on SQLite, where it keeps every heartbeat waiting, gives the
other leases back the time it held the database (`leases_stand_still`).

A caller that finds the lease held may wait for it (`take_over`): a holder seen renewing lives
and keeps it; one that stops renewing is dead, and its lease is taken as soon as it runs out.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from ..models import Subuser
from .database import writes_lock_everything

log = logging.getLogger(__name__)


class LockLost(Exception):
    """The lease expired and someone else took it: stop before writing anything."""


class SubuserLease:
    def __init__(self, subuser_id: int, *, seconds: int | None = None) -> None:
        self.subuser_id = subuser_id
        self.seconds = seconds if seconds is not None else settings.REFRESH_LOCK_SECONDS
        self.token = secrets.token_hex(16)
        self.held = False
        self.lost = False
        self.renewed = 0.0  # time.monotonic() of the last renewal

    def acquire(self) -> bool:
        """Take the lease if it is free (never taken, released, or run out); the heartbeat keeps
        it from then on until `release`."""
        started = time.monotonic()
        now = timezone.now()
        free = Q(lock_expires_at__isnull=True) | Q(lock_expires_at__lt=now)
        taken = Subuser.objects.filter(free, pk=self.subuser_id).update(
            lock_token=self.token, lock_expires_at=now + timedelta(seconds=self.seconds)
        )
        if taken:
            self.held, self.lost, self.renewed = True, False, started
            _heartbeat.add(self)
        return taken == 1

    def take_over(self) -> bool:
        """Wait for the lease someone else holds, and take it once its holder stops renewing it.

        True once taken; False as soon as the holder is seen renewing it (it lives), or after
        two lease lengths (holders keep changing): a living holder renews within a third of
        one, a dead one's lease runs out within one.
        """
        deadline = time.monotonic() + 2 * self.seconds
        poll = min(1.0, self.seconds / 10)
        seen: tuple[str, datetime] | None = None
        while True:
            row = (
                Subuser.objects.filter(pk=self.subuser_id)
                .values_list("lock_token", "lock_expires_at")
                .first()
            )
            if row is None:
                return False
            token, expires = row
            if expires is None or expires < timezone.now():
                if self.acquire():
                    return True
            elif seen is not None and seen[0] == token and expires > seen[1]:
                return False  # renewed since we first looked: its holder lives
            elif seen is None or seen[0] != token:
                seen = (token, expires)  # a holder to watch (a new one if the token changed)
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)

    def extend(self) -> None:
        """Renew the lease; LockLost if it is no longer ours. Never shortens it: an UPDATE that
        waited for a lock may land after a later expiry was set (see `leases_stand_still`)."""
        started = time.monotonic()
        expires = timezone.now() + timedelta(seconds=self.seconds)
        kept = Subuser.objects.filter(pk=self.subuser_id, lock_token=self.token).update(
            lock_expires_at=Greatest(F("lock_expires_at"), Value(expires))
        )
        if not kept:
            self.lost = True
            _heartbeat.discard(self)
            raise LockLost(f"refresh lease of subuser {self.subuser_id} was lost")
        self.renewed = started

    def check(self) -> None:
        """LockLost if the heartbeat found the lease taken by someone else (no query)."""
        if self.lost:
            raise LockLost(f"refresh lease of subuser {self.subuser_id} was lost")

    def release(self) -> None:
        self.held = False
        _heartbeat.discard(self)
        Subuser.objects.filter(pk=self.subuser_id, lock_token=self.token).update(
            lock_token="", lock_expires_at=None
        )

    def due(self) -> float:
        """When (time.monotonic()) the heartbeat renews it next: a third of its length after the
        last renewal, so that two renewals may fail before it runs out."""
        return self.renewed + self.seconds / 3

    def beat(self) -> None:
        """One renewal by the heartbeat thread."""
        try:
            self.extend()
        except LockLost:
            if self.held:  # not merely released meanwhile
                log.warning("lease of subuser %s was taken by someone else", self.subuser_id)
        except Exception as exc:
            # E.g. SQLite's write lock held by a long transaction past the busy timeout, or the
            # connection lost: try again shortly.
            log.warning("lease of subuser %s not renewed (will retry): %s", self.subuser_id, exc)
            self.renewed = time.monotonic() - self.seconds / 3 + min(1.0, self.seconds / 10)
            if isinstance(exc, DatabaseError):
                close_old_connections()


@contextmanager
def leases_stand_still() -> Iterator[None]:
    """Around the body of a write transaction that may be long. On SQLite it holds the database's
    one write lock, so no heartbeat can renew a lease meanwhile: at its end, still inside it, the
    leases alive when it began get that time back (a dead holder's is taken over that much
    later). Not needed on PostgreSQL, where other subusers' leases are renewed meanwhile, nor
    after a transaction shorter than a third of a lease: a heartbeat it kept waiting still
    renews in time."""
    began = timezone.now()
    yield
    paused = timezone.now() - began
    if not writes_lock_everything() or paused.total_seconds() < settings.REFRESH_LOCK_SECONDS / 3:
        return
    alive = Subuser.objects.filter(lock_expires_at__gte=began).exclude(lock_token="")
    for pk, token, expires in list(alive.values_list("pk", "lock_token", "lock_expires_at")):
        Subuser.objects.filter(pk=pk, lock_token=token).update(lock_expires_at=expires + paused)


class _Heartbeat:
    """One thread per process renews every lease the process holds, on a database connection of
    its own. It starts with the first lease and ends, closing its connection, when the process
    holds none. A renewal that waits for a lock (SQLite's write lock during another transaction,
    a row lock on PostgreSQL while its own process writes that subuser) delays the others; the
    writer renews its leases in that transaction before it commits, so none runs out meanwhile.
    """

    def __init__(self) -> None:
        self.leases: set[SubuserLease] = set()
        self.changed = threading.Condition()
        self.thread: threading.Thread | None = None

    def add(self, lease: SubuserLease) -> None:
        with self.changed:
            self.leases.add(lease)
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._run, name="lease-heartbeat", daemon=True
                )
                self.thread.start()

    def discard(self, lease: SubuserLease) -> None:
        with self.changed:
            self.leases.discard(lease)
            self.changed.notify()

    def _run(self) -> None:
        try:
            while due := self._wait():
                for lease in due:
                    lease.beat()
        finally:
            with self.changed:  # ended early: the next lease starts another
                if self.thread is threading.current_thread():
                    self.thread = None
            connections.close_all()  # this thread's own

    def _wait(self) -> list[SubuserLease]:
        """The leases due for renewal, once any is; [] when none is held (the thread ends)."""
        with self.changed:
            while self.leases:
                now = time.monotonic()
                due = [lease for lease in self.leases if lease.due() <= now]
                if due:
                    return due
                self.changed.wait(min(lease.due() for lease in self.leases) - now)
            self.thread = None
            return []


_heartbeat = _Heartbeat()
# A forked child has no heartbeat thread even if its parent had one.
os.register_at_fork(after_in_child=_heartbeat.__init__)
