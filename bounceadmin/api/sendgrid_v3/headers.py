"""The headers SendGrid's clients read on every v3 answer, and one saying how old the cache is."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle


def rate_limit_headers(throttles) -> dict[str, str]:
    """`X-RateLimit-Limit/Remaining/Reset` from a throttle that has just counted this request
    (its history holds this request's time). Reset is Unix seconds, as SendGrid's example and
    its Go client read it: when the oldest counted request leaves the window."""
    for throttle in throttles:
        if isinstance(throttle, SimpleRateThrottle) and hasattr(throttle, "history"):
            history, now = throttle.history, throttle.now
            reset = (history[-1] if history else now) + throttle.duration
            return {
                "X-RateLimit-Limit": str(throttle.num_requests),
                "X-RateLimit-Remaining": str(max(0, throttle.num_requests - len(history))),
                "X-RateLimit-Reset": str(math.ceil(reset)),
            }
    return {}


def cache_age_headers(oldest: datetime | None, never: bool) -> dict[str, str]:
    """How old the answer may be: the oldest last successful refresh among the subusers it
    covers. A subuser never refreshed makes it `never`, with no age."""
    if never:
        return {"X-Cache-Refreshed-At": "never"}
    if oldest is None:  # no subuser answered
        return {}
    age = max(0, int((timezone.now() - oldest).total_seconds()))
    refreshed = oldest.astimezone(UTC).replace(microsecond=0).isoformat()
    return {"X-Cache-Age": str(age), "X-Cache-Refreshed-At": refreshed.replace("+00:00", "Z")}
