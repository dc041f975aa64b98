"""Counting events in the shared cache so that only some are recorded in the append-only log:
the first `limit`, then every power of ten. Used for failed logins and refused webhook
deliveries, which a stranger can send without end. A lost cache only records a little more."""

from __future__ import annotations

from django.core.cache import cache


def bounded_recorded(count: int, limit: int) -> bool:
    """The first `limit`, then the 100th, 1000th, ..."""
    if count <= limit:
        return True
    while count % 10 == 0:
        count //= 10
    return count == 1


def bounded_count(key: str, timeout: int) -> int:
    """Add one to the count under `key` (kept `timeout` seconds) and return it."""
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1
