"""SendGrid-style fixed-window rate limiting with X-RateLimit-* headers.

SendGrid documents "a fixed number of requests per refresh period, per endpoint" and 429 for the
rest of the period, but publishes no numbers and does not say whether subusers share the budget
(they are all called with the parent's key, so we count them together). A window opens at the
first request after the previous one closed, so a burst in a test never straddles two windows.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

DEFAULT_LIMIT = 10_000
DEFAULT_WINDOW = 60.0


@dataclass(frozen=True)
class RateState:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # epoch seconds at which the window closes (what the real header carries)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class RateLimiter:
    def __init__(self, limit: int = DEFAULT_LIMIT, window: float = DEFAULT_WINDOW) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window start, requests)
        self.limit = DEFAULT_LIMIT
        self.window = DEFAULT_WINDOW
        self.configure(limit, window)

    def configure(self, limit: int, window: float) -> None:
        """Change the budget; open windows are forgotten so the new numbers apply at once."""
        if int(limit) < 1 or float(window) <= 0:
            raise ValueError("rate limit must be >= 1 and window > 0 seconds")
        with self._lock:
            self.limit, self.window = int(limit), float(window)
            self._windows.clear()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def _current(self, key: str, now: float) -> tuple[float, int]:
        start, used = self._windows.get(key, (now, 0))
        if now >= start + self.window:
            start, used = now, 0
        return start, used

    def hit(self, key: str, now: float | None = None) -> RateState:
        """Count one request against `key`; `allowed` is False once the budget is spent."""
        now = time.time() if now is None else now
        with self._lock:
            start, used = self._current(key, now)
            reset = math.ceil(start + self.window)
            if used >= self.limit:
                self._windows[key] = (start, used)
                return RateState(False, self.limit, 0, reset)
            used += 1
            self._windows[key] = (start, used)
            return RateState(True, self.limit, self.limit - used, reset)

    def peek(self, key: str, now: float | None = None) -> RateState:
        """The headers a request would see, without counting it (errors before auth)."""
        now = time.time() if now is None else now
        with self._lock:
            start, used = self._current(key, now)
            remaining = max(self.limit - used, 0)
            return RateState(remaining > 0, self.limit, remaining, math.ceil(start + self.window))
