"""The SendGrid rate gate, shared by every process through Django's cache.

SendGrid's rate limits belong to the account (per endpoint), not to a process, yet every Celery
worker process, web process and management command builds its own client. Alone, each learns
that a window is spent by running into a 429 itself. The client (Django-free) takes any object
with `wait()` and `pause_until(epoch)`; `CacheRateGate` keeps that state in `settings.CACHES`
(a FileBasedCache in DATA_DIR/cache by default, Redis in production), so they act together:

- a shared pause: a process answered 429, or told the window is (nearly) spent, records
  "paused until <reset>", and every process waits for it before its next request;
- optionally a shared budget of SENDGRID_MAX_REQUESTS_PER_SECOND for all processes together,
  counted in fixed windows (of one second, or 1/rate seconds for rates below one).

Keys are namespaced by a hash of the API URL and key, so installations (or the test sandboxes)
sharing a cache never hold each other up. The gate fails open: when the cache cannot be reached,
requests go out as if there were no gate (and each client still honours its own 429s).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.filebased import FileBasedCache

log = logging.getLogger(__name__)

_WARN_EVERY = 60.0  # seconds between two "cache unreachable" warnings of one gate


class CacheRateGate:
    """A `RateGate` over a Django cache: a shared pause and an optional shared request rate."""

    def __init__(
        self,
        cache: BaseCache,
        *,
        scope: str,
        max_per_second: float = 0,
        max_pause: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cache = cache
        self.prefix = f"sendgrid-gate:{scope}"
        self.max_pause = max_pause
        self.sleep = sleep
        self.clock = clock
        if max_per_second and max_per_second > 0:
            self.window = max(1.0, 1.0 / max_per_second)
            self.per_window = max(1, int(max_per_second * self.window))
        else:
            self.window, self.per_window = 0.0, 0
        # The file cache has no atomic read-modify-write across processes: a lock file beside
        # its entries serialises ours. Redis increments atomically by itself.
        self._lock_path = (
            os.path.join(cache._dir, "sendgrid-gate.lock")
            if isinstance(cache, FileBasedCache)
            else None
        )
        self._warned_at = -math.inf

    def __repr__(self) -> str:
        return f"<CacheRateGate {self.prefix} {self.per_window}/{self.window:g}s>"

    # --- the RateGate protocol -------------------------------------------------------------------

    def wait(self) -> None:
        """Block until this process may send: no shared pause, and a slot in the rate budget."""
        while True:
            now = self.clock()
            paused = self._safely(self.cache.get, self._key("paused"))
            if paused is not None and paused > now:
                self.sleep(min(paused - now, self.max_pause))
                continue
            if not self.per_window:
                return
            window = int(now // self.window)
            used = self._safely(self._count, window)
            if used is None or used <= self.per_window:
                return
            self.sleep(max((window + 1) * self.window - now, 0.001))

    def pause_until(self, epoch: float) -> None:
        """Nobody sends before `epoch` (Unix seconds; at most `max_pause` from now)."""
        now = self.clock()
        until = min(float(epoch), now + self.max_pause)
        if until > now:
            self._safely(self._extend_pause, until, now)

    # --- shared state ----------------------------------------------------------------------------

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def _extend_pause(self, until: float, now: float) -> None:
        key = self._key("paused")
        with self._locked():
            current = self.cache.get(key)
            if current is None or until > current:  # a pause only ever grows
                self.cache.set(key, until, timeout=math.ceil(until - now) + 1)

    def _count(self, window: int) -> int:
        """Take a request slot in `window`; returns how many were taken, this one included."""
        timeout = math.ceil(self.window) + 1
        if self._lock_path is not None:
            # One entry, rewritten in place: the file cache never expires entries nobody reads
            # again, so a key per window would pile up until it culls (at random).
            key = self._key("window")
            with self._locked():
                current = self.cache.get(key)
                used = current[1] + 1 if current and current[0] == window else 1
                self.cache.set(key, (window, used), timeout=timeout)
                return used
        key = self._key(f"window:{window}")
        self.cache.add(key, 0, timeout=timeout)
        try:
            return self.cache.incr(key)
        except ValueError:  # expired between add and incr
            self.cache.add(key, 1, timeout=timeout)
            return 1

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._lock_path is None:
            yield
            return
        with open(self._lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _safely(self, func: Callable[..., Any], *args: Any) -> Any:
        try:
            return func(*args)
        except Exception as exc:  # the cache is down: fail open, the client copes with 429s
            now = time.monotonic()
            if now - self._warned_at > _WARN_EVERY:
                self._warned_at = now
                log.warning("sendgrid rate gate: cache unavailable (%s); not gating", exc)
            return None


def gate_scope(base_url: str, api_key: str) -> str:
    """Names the account the limits belong to, without putting the key in a cache key."""
    return hashlib.sha256(f"{base_url.rstrip('/')}\0{api_key}".encode()).hexdigest()[:16]


def cache_rate_gate(*, base_url: str, api_key: str) -> CacheRateGate:
    """The gate configured from settings, over the default cache."""
    return CacheRateGate(
        caches["default"],
        scope=gate_scope(base_url, api_key),
        max_per_second=settings.SENDGRID_MAX_REQUESTS_PER_SECOND,
        max_pause=settings.SENDGRID_MAX_RATE_LIMIT_WAIT,
    )
